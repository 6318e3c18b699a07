import type { AccountConfig } from '../config/types.js';
import { AI_CARD_FLOW_STATUS } from '../dingtalk/api/card-api.js';
import { describeCause } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { InboxRecord } from '../state/store.js';
import { NOTICES } from './notices.js';
import type { TurnDependencies } from './turn-deps.js';

/** The card of turn start `attempt` (1-based) of an inbox entry: one card per start. */
export function cardTrackId(record: Pick<InboxRecord, 'id'>, attempt: number): string {
  return `dtgw_${record.id}_${attempt}`;
}

/**
 * A turn started before (the gateway crashed or was stopped mid-turn) may have left its card in
 * the "processing" state; the new start answers in a new card or as markdown. Finishes that old
 * card as failed with the "interrupted" notice so it does not spin forever. Best effort, one API
 * call: when the earlier start had no card (markdown mode then, or card creation failed), DingTalk
 * refuses the update and nothing else happens.
 */
export async function retireInterruptedCard(
  record: InboxRecord,
  account: AccountConfig,
  deps: Pick<TurnDependencies, 'cards'>,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  if (record.attempts === 0 || account.replyMode !== 'card' || !deps.cards.isAvailable(account.id)) return;
  const outTrackId = cardTrackId(record, record.attempts);
  try {
    await deps.cards.update(
      account.id,
      outTrackId,
      { flowStatus: AI_CARD_FLOW_STATUS.failed, msgContent: NOTICES.interrupted },
      signal,
    );
    log.info({ outTrackId }, 'finished the card of an interrupted turn');
  } catch (error) {
    if (signal.aborted) return; // shutting down: the turn ends as aborted right after
    log.debug({ outTrackId, error: describeCause(error) }, 'no card of an interrupted turn to finish');
  }
}
