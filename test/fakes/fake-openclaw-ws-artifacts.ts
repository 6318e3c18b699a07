/**
 * The fake gateway's run artifacts: `artifacts.list`, `artifacts.download` (a ticket URL, as the
 * real gateway answers for files) and the HTTP GET on the same port that redeems the ticket.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { FakeOpenClawWsState } from './fake-openclaw-ws-state.js';
import {
  canonicalKey,
  str,
  type FakeArtifact,
  type FakeWsConnection,
  type Json,
} from './fake-openclaw-ws-types.js';

/** How long a download ticket is announced to stay valid. */
const TICKET_TTL_MS = 600_000;

/** `artifacts.list`: the session's artifacts, of one run when `runId` is given. @internal */
export function artifactsList(
  state: FakeOpenClawWsState,
  connection: FakeWsConnection,
  id: string,
  params: Json,
): void {
  const sessionKey = canonicalKey(str(params['sessionKey']));
  const artifacts = [...state.artifacts.values()]
    .filter(
      (artifact) =>
        artifact.sessionKey === sessionKey &&
        (params['runId'] === undefined || artifact.runId === params['runId']),
    )
    .map((artifact) => summary(artifact));
  state.send(connection, { type: 'res', id, ok: true, payload: { artifacts } });
}

/** `artifacts.download`: a gateway-relative URL with a fresh media ticket. @internal */
export function artifactsDownload(
  state: FakeOpenClawWsState,
  connection: FakeWsConnection,
  id: string,
  params: Json,
): void {
  const artifact = state.artifacts.get(String(params['artifactId']));
  if (artifact === undefined) {
    state.fail(connection, id, 'INVALID_REQUEST', 'artifact not found');
    return;
  }
  const ticket = `v1.${randomBytes(16).toString('base64url')}`;
  state.tickets.set(ticket, artifact.id);
  // The download answer describes the artifact without its run and transcript position.
  const listed = Object.fromEntries(
    Object.entries(summary(artifact)).filter(([key]) => key !== 'runId' && key !== 'messageSeq'),
  );
  state.send(connection, {
    type: 'res',
    id,
    ok: true,
    payload: {
      artifact: listed,
      url: `/api/chat/media/outgoing/${encodeURIComponent(artifact.sessionKey)}/${artifact.id}/full?mediaTicket=${ticket}`,
      expiresAt: new Date(Date.now() + TICKET_TTL_MS).toISOString(),
    },
  });
}

/** Serves `GET /api/chat/media/outgoing/<session>/<artifactId>/full?mediaTicket=…`. @internal */
export function serveArtifact(
  state: FakeOpenClawWsState,
  baseUrl: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const url = new URL(req.url ?? '/', baseUrl);
  const match = /^\/api\/chat\/media\/outgoing\/[^/]+\/([^/]+)\/full$/.exec(url.pathname);
  const ticket = url.searchParams.get('mediaTicket');
  const artifact = match === null ? undefined : state.artifacts.get(match[1] ?? '');
  if (req.method !== 'GET' || artifact === undefined) {
    res.writeHead(404).end();
    return;
  }
  if (ticket === null || state.tickets.get(ticket) !== artifact.id) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"Unauthorized"}}');
    return;
  }
  res.writeHead(200, { 'content-type': artifact.mimeType, 'content-length': artifact.bytes.length });
  res.end(artifact.bytes);
}

function summary(artifact: FakeArtifact): Json {
  return {
    id: artifact.id,
    type: artifact.mimeType.startsWith('image/') ? 'image' : 'attachment',
    title: artifact.fileName,
    mimeType: artifact.mimeType,
    sizeBytes: artifact.bytes.length,
    sessionKey: artifact.sessionKey,
    runId: artifact.runId,
    messageSeq: 2,
    source: 'session-transcript',
    download: { mode: 'url' },
  };
}
