/** Inputs of the per-request system message. */
export interface InstructionContext {
  readonly mediaRoots: readonly string[];
  readonly allowRemoteUrls: boolean;
}

/**
 * The system message sent with every turn: how to attach media (OpenClaw's HTTP API strips its own
 * `MEDIA:` lines from replies, so the gateway teaches its tag syntax). Undefined when the agent
 * cannot attach anything (no media folders, no remote URLs), to save tokens.
 */
export function agentInstructions(context: InstructionContext): string | undefined {
  if (context.mediaRoots.length === 0 && !context.allowRemoteUrls) return undefined;
  const where = [
    context.mediaRoots.length > 0 ? `files inside ${context.mediaRoots.join(', ')}` : undefined,
    context.allowRemoteUrls ? 'public http(s) URLs' : undefined,
  ]
    .filter((part) => part !== undefined)
    .join(' or ');
  return [
    'You are answering in DingTalk. To send a picture, file, voice message or video, put a tag on its own line (not in a code block):',
    '[DING:IMAGE path="/absolute/path/chart.png"]',
    '[DING:FILE path="/absolute/path/report.pdf" name="Report.pdf"]',
    '[DING:AUDIO path="/absolute/path/note.mp3"]',
    '[DING:VIDEO path="/absolute/path/clip.mp4"]',
    `Only ${where} can be sent. Formats: images jpg/png/gif/bmp; voice mp3/wav/amr up to 2 MB; video mp4; files pdf/doc/docx/xls/xlsx/ppt/pptx/zip/rar; at most 20 MB each.`,
  ].join('\n');
}
