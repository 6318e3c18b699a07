/** One message the bot sends into a conversation. */
export type OutgoingMessage = TextualMessage | MediaMessage;

/** Text and markdown: sendable through the session webhook or the proactive API. */
export type TextualMessage =
  | { readonly kind: 'markdown'; readonly title: string; readonly text: string }
  | { readonly kind: 'text'; readonly text: string };

/**
 * Native media messages (media ids from `media/upload`). The session webhook cannot carry them:
 * they go through the proactive API only (`sampleImageMsg`, `sampleFile`, `sampleAudio`,
 * `sampleVideo`).
 */
export type MediaMessage =
  | { readonly kind: 'image'; readonly mediaId: string }
  | { readonly kind: 'file'; readonly mediaId: string; readonly fileName: string; readonly fileType: string }
  | { readonly kind: 'audio'; readonly mediaId: string; readonly durationMs: number }
  | {
      readonly kind: 'video';
      readonly mediaId: string;
      readonly durationSeconds: number;
      readonly videoType: string;
      /** Cover image; DingTalk shows a blank frame without one. */
      readonly coverMediaId: string | undefined;
    };

/** True for text and markdown messages. */
export function isTextual(message: OutgoingMessage): message is TextualMessage {
  return message.kind === 'text' || message.kind === 'markdown';
}
