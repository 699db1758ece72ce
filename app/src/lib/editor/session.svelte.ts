/**
 * One open project in the browser: the Y.Doc, its y-websocket connection to the collab-server, the
 * user's own undo stack (remote edits never enter it) and a reactive plain snapshot for the UI.
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { readTimeline, type TimelineSnapshot } from '@clipmaker/shared/timeline';

/** Origin of this user's own edits, tracked by the UndoManager. */
export const LOCAL_ORIGIN = { local: true } as const;

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

export class EditorSession {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly undo: Y.UndoManager;
  timeline = $state<TimelineSnapshot>(readTimeline(new Y.Doc()));
  status = $state<ConnectionStatus>('connecting');
  synced = $state(false);

  constructor(opts: { url: string; projectId: string; token: string; refreshToken: () => Promise<string> }) {
    const room = `project:${opts.projectId}`;
    this.provider = new WebsocketProvider(opts.url, room, this.doc, { params: { token: opts.token }, maxBackoffTime: 5000 });
    // Reconnects need a fresh short-lived token.
    this.provider.on('connection-close', () => {
      void opts
        .refreshToken()
        .then((token) => (this.provider.params = { token }))
        .catch(() => {});
    });
    this.provider.on('status', ({ status }: { status: ConnectionStatus }) => (this.status = status));
    this.provider.on('sync', (isSynced: boolean) => {
      this.synced = isSynced;
      this.refresh();
    });
    this.undo = new Y.UndoManager(
      ['meta', 'clips', 'cues', 'subtitleStyle', 'overlays', 'music'].map((name) => this.doc.getMap(name)),
      { trackedOrigins: new Set([LOCAL_ORIGIN]), captureTimeout: 400 },
    );
    this.doc.on('update', () => this.refresh());
    this.refresh();
  }

  private refresh(): void {
    this.timeline = readTimeline(this.doc);
  }

  /** base64 state vector, sent with renders.create so the server renders only what is saved. */
  stateVector(): string {
    const sv = Y.encodeStateVector(this.doc);
    let s = '';
    for (const b of sv) s += String.fromCharCode(b);
    return btoa(s);
  }

  destroy(): void {
    this.undo.destroy();
    this.provider.destroy();
    this.doc.destroy();
  }
}
