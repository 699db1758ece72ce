/**
 * Auto-captions (issue 16): versioned transcripts of an asset (or a part of it) made by the farm's
 * transcribe job, and their word-timed words. A transcript row follows its job (queued ->
 * transcribing -> succeeded/failed/cancelled); its words are stored once, when the job succeeds.
 */
import { index, integer, pgEnum, pgTable, primaryKey, real, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
// Tables are only referenced lazily (inside .references callbacks): schema.ts re-exports this file.
import { assets, orgs, projects, users } from './schema.ts';

export const transcriptStatusEnum = pgEnum('transcript_status', ['queued', 'transcribing', 'succeeded', 'failed', 'cancelled']);
export type TranscriptStatus = (typeof transcriptStatusEnum.enumValues)[number];

export const transcripts = pgTable(
  'transcripts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    assetId: uuid('asset_id')
      .notNull()
      .references(() => assets.id, { onDelete: 'cascade' }),
    /** 1, 2, ... per asset: every transcription (or alignment) of it is kept. */
    version: integer('version').notNull(),
    status: transcriptStatusEnum('status').notNull().default('queued'),
    mode: text('mode', { enum: ['recognise', 'align'] }).notNull(),
    /** What was asked for (auto/pocketsphinx/whisper); `engine` is what ran. */
    requestedEngine: text('requested_engine', { enum: ['auto', 'pocketsphinx', 'whisper'] }).notNull().default('auto'),
    engine: text('engine', { enum: ['pocketsphinx', 'whisper'] }),
    /** draft (pocketsphinx recognition), standard (whisper), aligned (known text). */
    quality: text('quality', { enum: ['draft', 'standard', 'aligned'] }),
    language: text('language').notNull(),
    /** Part of the media transcribed (ms of the media); null = all. */
    rangeStartMs: integer('range_start_ms'),
    rangeEndMs: integer('range_end_ms'),
    priority: text('priority').notNull().default('normal'),
    stage: text('stage').notNull().default('queued'),
    progress: real('progress').notNull().default(0),
    etaSeconds: real('eta_seconds'),
    error: text('error'),
    workerId: text('worker_id'),
    /** Where the worker writes the Transcript JSON (kept as the raw engine output). */
    outputKey: text('output_key').notNull(),
    wordCount: integer('word_count'),
    mediaDurationMs: integer('media_duration_ms'),
    realTimeFactor: real('real_time_factor'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('transcripts_project_idx').on(t.projectId), uniqueIndex('transcripts_asset_version_uq').on(t.assetId, t.version)],
);

/** One word of a transcript, in time order (`position` 0..n-1). Times are ms of the asset. */
export const transcriptWords = pgTable(
  'transcript_words',
  {
    transcriptId: uuid('transcript_id')
      .notNull()
      .references(() => transcripts.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    word: text('word').notNull(),
    startMs: integer('start_ms').notNull(),
    endMs: integer('end_ms').notNull(),
    confidence: real('confidence').notNull(),
    speaker: text('speaker'),
  },
  (t) => [primaryKey({ columns: [t.transcriptId, t.position] })],
);
