/** Auto-captions: thin procedures over services/transcripts.ts. */
import { z } from 'zod';
import { authedProcedure, router } from '../init.ts';
import { cancelTranscript, createTranscript, CreateTranscriptInput, getTranscript, listTranscripts, transcriptUpdates } from '../../services/transcripts.ts';

const TranscriptId = z.object({ transcriptId: z.string().uuid() });

export const transcriptsRouter = router({
  /** Editors: queues a transcribe (or align) job on the farm for one asset. */
  create: authedProcedure.input(CreateTranscriptInput).mutation(({ ctx, input }) => createTranscript(ctx.app, ctx.user.id, input)),
  list: authedProcedure.input(z.object({ projectId: z.string().uuid() })).query(({ ctx, input }) => listTranscripts(ctx.app, ctx.user.id, input.projectId)),
  /** Status and progress; the words once it succeeded. */
  get: authedProcedure.input(TranscriptId).query(({ ctx, input }) => getTranscript(ctx.app, ctx.user.id, input.transcriptId)),
  cancel: authedProcedure.input(TranscriptId).mutation(({ ctx, input }) => cancelTranscript(ctx.app, ctx.user.id, input.transcriptId)),
  /** Live status and progress over SSE (any member): the row now, then every change until it ends. */
  onUpdate: authedProcedure.input(TranscriptId).subscription(({ ctx, input, signal }) => transcriptUpdates(ctx.app, ctx.user.id, input.transcriptId, signal)),
});
