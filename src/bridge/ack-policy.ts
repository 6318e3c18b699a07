/** What happened to a CALLBACK frame when the bridge received it. */
export type IntakeOutcome =
  | 'accepted'
  | 'duplicate'
  | 'rejected'
  | 'rate-limited'
  | 'invalid'
  | 'ignored-topic'
  | 'shutting-down'
  | 'record-failed';

/**
 * The one place that decides whether a frame is acknowledged (STYLE.md B1). Everything that was
 * recorded or deliberately dropped is acked at once, so DingTalk does not redeliver it. Only a frame
 * the gateway could not take responsibility for stays unacked: DingTalk then delivers it again,
 * to this or another connection.
 */
export function decideAck(outcome: IntakeOutcome): 'ack' | 'no-ack' {
  switch (outcome) {
    case 'accepted':
    case 'duplicate':
    case 'rejected':
    case 'rate-limited':
    case 'invalid':
    case 'ignored-topic':
      return 'ack';
    case 'shutting-down':
    case 'record-failed':
      return 'no-ack';
  }
}
