/**
 * Baseline for the benchmark: the relay most DingTalk bots are, built on the official `dingtalk-stream`
 * SDK. For each bot message it ACKs at once, streams the answer from OpenClaw
 * (`POST /v1/chat/completions`, SSE, same session key as the gateway) and posts it to the message's
 * session webhook. No persistence, dedupe, ordering, rate limit or retries: the best case for speed.
 * HTTP goes through Node's built-in fetch (undici, keep-alive), faster than the axios default.
 *
 * The SDK has no option for its API host (reference §9), so an axios interceptor rewrites
 * `https://api.dingtalk.com` / `https://oapi.dingtalk.com` to the fake.
 *
 * Configured by BENCH_DINGTALK_BASE, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_OPENCLAW_BASE,
 * BENCH_OPENCLAW_TOKEN. Run by the harness as plain JavaScript (bench/targets.ts transpiles it).
 */
import axios from 'axios';
import { DWClient, type DWClientDownStream, TOPIC_ROBOT } from 'dingtalk-stream';

interface BotMessage {
  readonly msgId: string;
  readonly conversationType: string;
  readonly conversationId: string;
  readonly senderStaffId?: string;
  readonly senderId: string;
  readonly sessionWebhook: string;
  readonly text?: { readonly content?: string };
}

interface SseChunk {
  readonly choices?: readonly { readonly delta?: { readonly content?: string } }[];
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

const dingtalkBase = required('BENCH_DINGTALK_BASE');
const openclawUrl = `${required('BENCH_OPENCLAW_BASE')}/v1/chat/completions`;
const openclawToken = required('BENCH_OPENCLAW_TOKEN');

axios.interceptors.request.use((config) => {
  if (config.url !== undefined)
    config.url = config.url.replace(/^https:\/\/(api|oapi)\.dingtalk\.com/, dingtalkBase);
  return config;
});

const client = new DWClient({
  clientId: required('BENCH_CLIENT_ID'),
  clientSecret: required('BENCH_CLIENT_SECRET'),
});

/** Reads an SSE chat-completions stream and returns the concatenated content deltas. */
async function readAnswer(body: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  let answer = '';
  for await (const bytes of body) {
    buffered += decoder.decode(bytes, { stream: true });
    for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n')) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice('data: '.length);
        if (data === '[DONE]') return answer;
        const chunk = JSON.parse(data) as SseChunk;
        answer += chunk.choices?.[0]?.delta?.content ?? '';
      }
    }
  }
  return answer;
}

async function askOpenClaw(message: BotMessage): Promise<string> {
  const isGroup = message.conversationType === '2';
  const sessionKey = isGroup
    ? `dingtalk:default:group:${message.conversationId}`
    : `dingtalk:default:dm:${message.senderStaffId ?? message.senderId}`;
  const response = await fetch(openclawUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${openclawToken}`,
      'content-type': 'application/json',
      'x-openclaw-session-key': sessionKey,
    },
    body: JSON.stringify({
      model: 'openclaw/main',
      stream: true,
      messages: [{ role: 'user', content: message.text?.content?.trim() ?? '' }],
    }),
  });
  if (!response.ok || response.body === null) throw new Error(`OpenClaw answered HTTP ${response.status}`);
  return readAnswer(response.body);
}

async function reply(message: BotMessage, text: string): Promise<void> {
  const response = await fetch(message.sessionWebhook, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ msgtype: 'markdown', markdown: { title: text.slice(0, 20), text } }),
  });
  const result = (await response.json()) as { errcode?: number; errmsg?: string };
  if (result.errcode !== 0)
    throw new Error(`webhook refused: ${result.errcode ?? '?'} ${result.errmsg ?? ''}`);
}

async function relay(message: BotMessage): Promise<void> {
  try {
    await reply(message, await askOpenClaw(message));
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    console.error(`relay failed: ${String(error)}${cause} [${message.msgId}]`);
  }
}

client.registerCallbackListener(TOPIC_ROBOT, (frame: DWClientDownStream) => {
  client.socketCallBackResponse(frame.headers.messageId, null);
  void relay(JSON.parse(frame.data) as BotMessage);
});

process.once('SIGTERM', () => {
  client.disconnect();
  process.exit(0);
});

await client.connect();
