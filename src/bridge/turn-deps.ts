import type { AccountConfig, DeliveryConfig, MediaConfig } from '../config/types.js';
import type { ConversationOutbox } from '../delivery/conversation-outbox.js';
import type { DeliveryPath, ReplyRouter } from '../delivery/reply-router.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { CardService } from '../cards/card-service.js';
import type { AgentTransport } from '../openclaw/agent-transport.js';
import type { StateStore } from '../state/store.js';
import type { InboundMediaSource } from './agent-content.js';
import type { ReplyMediaServices } from './reply-media.js';
import type { ReactionService } from './working-indicator.js';

/** Everything a turn needs, wired once by the composition root. */
export interface TurnDependencies {
  readonly agent: AgentTransport;
  readonly agentId: string;
  readonly store: StateStore;
  readonly outbox: ConversationOutbox<DeliveryPath>;
  readonly router: ReplyRouter;
  readonly accounts: ReadonlyMap<string, AccountConfig>;
  readonly delivery: DeliveryConfig;
  readonly media: MediaConfig;
  readonly inboundMedia: InboundMediaSource;
  readonly replyMedia: ReplyMediaServices;
  readonly cards: CardService;
  readonly reactions: ReactionService;
  readonly metrics: GatewayMetrics;
  readonly now: () => number;
}
