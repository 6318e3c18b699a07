/**
 * Key layout of the Redis state store. Every key starts with the configured prefix, so several
 * gateways (or test runs) can share one Redis without seeing each other's state.
 *
 * | key | type | content |
 * |---|---|---|
 * | `seq` | string | last inbox entry id (`INCR`) |
 * | `inbox` | sorted set | unfinished entry ids, score = id |
 * | `queues` | set | queue keys with unfinished entries |
 * | `queue:<queueKey>` | list | unfinished entry ids of one queue key, oldest first |
 * | `entry:<id>` | hash | `dedupeKey`, `accountId`, `queueKey`, `job` (JSON), `acceptedAtMs`, `attempts`, `complete` |
 * | `chunks:<id>` | list | planned reply messages (JSON); the list position is the chunk index |
 * | `sent:<id>` | hash | chunk index → when it was sent (ms) |
 * | `dedupe:<dedupeKey>` | string | `inbox` while the entry is unfinished (no expiry), else the expiry time in ms (with `PX` = the TTL) |
 * | `route:<conversationKey>` | hash | the `ReplyRoute` fields that are set |
 * | `lease:<queueKey>` | string | owner id of the replica working on the queue key, `PX` = lease TTL |
 * | `answered` | hash | session key → when it was first answered (ms) |
 * | `generations` | hash | base session key → `/new` generation |
 * | `stop` | pub/sub channel | `/stop` requests for the lease holder: `{"queueKey","owner"}` |
 *
 * Scripts derive `entry:`, `chunks:`, `sent:`, `queue:` and `dedupe:` keys from ids read inside the
 * script, so the store needs one Redis server (or a Sentinel-managed primary), not Redis Cluster.
 */
export class RedisKeys {
  readonly prefix: string;
  readonly seq: string;
  readonly inbox: string;
  readonly queues: string;
  readonly answered: string;
  readonly generations: string;
  readonly stopChannel: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.seq = `${prefix}seq`;
    this.inbox = `${prefix}inbox`;
    this.queues = `${prefix}queues`;
    this.answered = `${prefix}answered`;
    this.generations = `${prefix}generations`;
    this.stopChannel = `${prefix}stop`;
  }

  queue(queueKey: string): string {
    return `${this.prefix}queue:${queueKey}`;
  }

  entry(id: number): string {
    return `${this.prefix}entry:${id}`;
  }

  chunks(id: number): string {
    return `${this.prefix}chunks:${id}`;
  }

  sent(id: number): string {
    return `${this.prefix}sent:${id}`;
  }

  dedupe(dedupeKey: string): string {
    return `${this.prefix}dedupe:${dedupeKey}`;
  }

  route(conversationKey: string): string {
    return `${this.prefix}route:${conversationKey}`;
  }

  lease(queueKey: string): string {
    return `${this.prefix}lease:${queueKey}`;
  }
}
