import { describe, expect, it } from 'vitest';

import { fixtureFrames, firstRunId, runEvents } from '../../../test/helpers/openclaw-ws-fixtures.js';
import type { AgentEvent } from '../agent-transport.js';
import { MAX_TOOL_RESULT_CHARS, RunTracker, toolResultText } from './run-events.js';

/** Replays a captured run through a tracker; returns its events and the tracker. */
function replay(name: string, part?: string): { events: AgentEvent[]; tracker: RunTracker } {
  const frames = fixtureFrames(name, part);
  const runId = firstRunId(frames);
  const tracker = new RunTracker(runId);
  const events = runEvents(frames, runId).flatMap((frame) => tracker.accept(frame));
  return { events, tracker };
}

function textOf(events: readonly AgentEvent[]): string {
  return events.map((event) => (event.type === 'text' ? event.delta : '')).join('');
}

describe('RunTracker on runs captured from the real gateway', () => {
  it('maps a plain reply to text deltas that add up to the final text', () => {
    const { events, tracker } = replay('turn-plain');

    expect(events.every((event) => event.type === 'text')).toBe(true);
    expect(events.length).toBeGreaterThan(1);
    expect(textOf(events)).toBe('FAKE-LLM reply: hello from DingTalk, 你好.');
    expect(tracker.outcome).toEqual({ kind: 'final', stopReason: 'stop' });
    expect(tracker.warnings).toEqual([]);
  });

  it('reports a tool call: start, its result (sender with the tool-events cap), end; the text before it stays', () => {
    const { events, tracker } = replay('turn-tool');

    const toolEvents = events.filter((event) => event.type !== 'text');
    expect(toolEvents).toEqual([
      {
        type: 'tool',
        phase: 'start',
        name: 'read',
        title: 'Read from <run dir>/state/workspace/hello.txt',
        isError: false,
      },
      {
        type: 'tool-result',
        name: 'read',
        text: 'hello from a file read by the agent tool\n',
        isError: false,
      },
      {
        type: 'tool',
        phase: 'end',
        name: 'read',
        title: 'Read from <run dir>/state/workspace/hello.txt',
        isError: false,
      },
    ]);
    expect(textOf(events)).toBe(
      'Let me read the file.\n\nTool said: hello from a file read by the agent tool',
    );
    expect(tracker.outcome?.kind).toBe('final');
  });

  it.each(['turn-tool-observer', 'turn-tool-without-cap'])(
    'gets tool status but no tool results in %s (observer, or sender without the cap)',
    (fixture) => {
      const { events } = replay(fixture);
      const kinds = events.filter((event) => event.type !== 'text').map((event) => event.type);
      expect(kinds).toEqual(['tool', 'tool']);
    },
  );

  it('maps the agent thinking stream to thinking events, outside the reply text', () => {
    const { events } = replay('turn-thinking');

    expect(events.filter((event) => event.type === 'thinking')).toEqual([
      { type: 'thinking', delta: 'Thinking about it... done.' },
    ]);
    expect(textOf(events)).toBe('Thought and answered.');
  });

  it('treats the gateway-injected answer to an unsupported thinking level as the reply', () => {
    const { events, tracker } = replay('turn-thinking-unsupported');

    expect(textOf(events)).toBe(
      'Thinking level "high" is not supported for fake/fake-model. Use one of: off.',
    );
    expect(tracker.outcome?.kind).toBe('final');
  });

  it('ends an aborted run with its partial text', () => {
    const { events, tracker } = replay('turn-abort');

    expect(textOf(events)).toMatch(/^line 1 of a slow answer\n/);
    expect(tracker.outcome).toEqual({ kind: 'aborted', stopReason: 'rpc' });
  });

  it('ends a failed run with the first error message and ignores the second, generic one', () => {
    const { events, tracker } = replay('turn-model-error');

    expect(textOf(events)).toBe('');
    expect(tracker.outcome).toEqual({
      kind: 'error',
      message: expect.stringContaining('request failed (provider internal error, HTTP 500)') as string,
    });
    expect((tracker.outcome as { message: string }).message).not.toContain('before reply');
  });

  it('resumes after a dropped socket without repeating text: inFlightRun, then the new connection events', () => {
    const before = fixtureFrames('resume-after-drop', 'beforeDrop');
    const after = fixtureFrames('resume-after-drop', 'afterReconnect');
    const runId = firstRunId(before);
    const tracker = new RunTracker(runId);
    const events = runEvents(before, runId).flatMap((frame) => tracker.accept(frame));
    const history = after.find(
      (entry) =>
        entry.dir === 'in' && (entry.frame['payload'] as { inFlightRun?: unknown } | undefined)?.inFlightRun,
    );
    const inFlight = (history?.frame['payload'] as { inFlightRun: { text: string } }).inFlightRun;
    events.push(...tracker.adoptText(inFlight.text));
    events.push(...runEvents(after, runId).flatMap((frame) => tracker.accept(frame)));

    // OpenClaw trims the reply's trailing newline.
    const expected = Array.from({ length: 24 }, (_, index) => `line ${index + 1} of a slow answer`).join(
      '\n',
    );
    expect(textOf(events)).toBe(expected);
    expect(tracker.outcome?.kind).toBe('final');
    expect(tracker.warnings).toEqual([]);
  });
});

describe('RunTracker edge cases', () => {
  const chat = (payload: Record<string, unknown>) =>
    ({ type: 'event', event: 'chat', payload: { runId: 'r1', ...payload } }) as const;
  const agent = (payload: Record<string, unknown>) =>
    ({ type: 'event', event: 'agent', payload: { runId: 'r1', ...payload } }) as const;

  it('ignores a replayed delta and an agent event seen twice', () => {
    const tracker = new RunTracker('r1');
    const delta = chat({
      seq: 3,
      state: 'delta',
      deltaText: 'ab',
      message: { content: [{ type: 'text', text: 'ab' }] },
    });
    const thinking = agent({ seq: 4, stream: 'thinking', data: { delta: 'hm' } });

    expect([...tracker.accept(delta), ...tracker.accept(thinking)]).toHaveLength(2);
    expect([...tracker.accept(delta), ...tracker.accept(thinking)]).toEqual([]);
  });

  it('keeps text already yielded when a snapshot rewrites it, and warns', () => {
    const tracker = new RunTracker('r1');
    tracker.accept(chat({ seq: 1, state: 'delta', deltaText: 'hello', message: { content: 'hello' } }));
    const events = tracker.accept(
      chat({ seq: 2, state: 'delta', deltaText: 'bye', replace: true, message: { content: 'bye' } }),
    );

    expect(events).toEqual([]);
    expect(tracker.text).toBe('hello');
    expect(tracker.warnings.map((warning) => warning.reason)).toEqual(['text-rewritten']);
  });

  it('builds text from deltaText when a delta carries no message snapshot', () => {
    const tracker = new RunTracker('r1');
    const events = [
      ...tracker.accept(chat({ seq: 1, state: 'delta', deltaText: 'he' })),
      ...tracker.accept(chat({ seq: 2, state: 'delta', deltaText: 'llo' })),
      ...tracker.accept(chat({ seq: 3, state: 'final', stopReason: 'stop' })),
    ];

    expect(events).toEqual([
      { type: 'text', delta: 'he' },
      { type: 'text', delta: 'llo' },
    ]);
    expect(tracker.outcome).toEqual({ kind: 'final', stopReason: 'stop' });
  });

  it('marks a tool as failed from its result or its end status', () => {
    const tracker = new RunTracker('r1');
    const events = [
      ...tracker.accept(
        agent({
          seq: 1,
          stream: 'tool',
          data: {
            phase: 'result',
            name: 'exec',
            toolCallId: 'c1',
            isError: true,
            result: { content: [{ type: 'text', text: 'boom' }] },
          },
        }),
      ),
      ...tracker.accept(
        agent({
          seq: 2,
          stream: 'item',
          data: { kind: 'tool', phase: 'end', name: 'exec', toolCallId: 'c1', status: 'completed' },
        }),
      ),
      ...tracker.accept(
        agent({
          seq: 3,
          stream: 'item',
          data: { kind: 'tool', phase: 'end', name: 'web', toolCallId: 'c2', status: 'failed' },
        }),
      ),
    ];

    expect(events).toEqual([
      { type: 'tool-result', name: 'exec', text: 'boom', isError: true },
      { type: 'tool', phase: 'end', name: 'exec', title: undefined, isError: true },
      { type: 'tool', phase: 'end', name: 'web', title: undefined, isError: true },
    ]);
  });

  it('counts malformed events as warnings and yields nothing for them', () => {
    const tracker = new RunTracker('r1');

    expect(tracker.accept({ type: 'event', event: 'chat', payload: { runId: 'r1' } })).toEqual([]);
    expect(tracker.warnings.map((warning) => warning.reason)).toEqual(['malformed-event']);
  });

  it('finishes from history after a reconnect, once', () => {
    const tracker = new RunTracker('r1');
    tracker.adoptText('Hello');

    expect(tracker.finish({ kind: 'final', stopReason: undefined }, 'Hello world')).toEqual([
      { type: 'text', delta: ' world' },
    ]);
    expect(tracker.finish({ kind: 'error', message: 'late' }, undefined)).toEqual([]);
    expect(tracker.accept(chat({ seq: 9, state: 'final', message: { content: 'x' } }))).toEqual([]);
  });
});

describe('toolResultText', () => {
  it('joins text parts, names other parts, and cuts long output', () => {
    expect(
      toolResultText({
        content: [{ type: 'text', text: 'a' }, { type: 'image' }, { type: 'text', text: 'b' }],
      }),
    ).toBe('a\n[image]\nb');
    expect(toolResultText('plain')).toBe('plain');
    expect(toolResultText(undefined)).toBe('');
    expect(toolResultText({ ok: true })).toBe('{"ok":true}');
    const long = toolResultText({
      content: [{ type: 'text', text: 'x'.repeat(MAX_TOOL_RESULT_CHARS + 10) }],
    });
    expect(long).toHaveLength(MAX_TOOL_RESULT_CHARS + 1);
    expect(long.endsWith('…')).toBe(true);
  });
});
