/**
 * Outgoing mail: nodemailer over SMTP when SMTP_URL is set; otherwise mail is off, every caller gets
 * `mailed: false` and shows the link to copy instead, and the log says once that mail is off.
 * Messages are plain text (and a minimal HTML twin); links are absolute, on PUBLIC_URL / ORIGIN.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { AppContext } from '../context.ts';
import { logger } from '../logger.ts';

type MailCtx = Pick<AppContext, 'config'>;

export interface Mail {
  to: string;
  subject: string;
  text: string;
  /** The one link the mail is about (rendered as a button in the HTML part). */
  link?: { url: string; label: string };
}

const transports = new Map<string, Transporter>();
let warnedOff = false;

export function mailEnabled(ctx: MailCtx): boolean {
  return Boolean(ctx.config.SMTP_URL);
}

/** The absolute origin links in mail point at. */
export function publicOrigin(ctx: MailCtx): string {
  const o = ctx.config.PUBLIC_URL ?? ctx.config.ORIGIN ?? `http://localhost:${process.env.PORT ?? 3000}`;
  return o.replace(/\/+$/, '');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * Sends one message; true when the SMTP server accepted it. Never throws: a mail failure is logged
 * and reported as false, so the caller falls back to showing the link.
 */
export async function sendMail(ctx: MailCtx, mail: Mail): Promise<boolean> {
  const url = ctx.config.SMTP_URL;
  if (!url) {
    if (!warnedOff) {
      warnedOff = true;
      logger.info({ smtp: 'off' }, 'mail is off (SMTP_URL is not set): invite, reset and confirmation links are shown to copy instead');
    }
    return false;
  }
  let t = transports.get(url);
  if (!t) transports.set(url, (t = nodemailer.createTransport(url)));
  const text = mail.link ? `${mail.text}\n\n${mail.link.label}: ${mail.link.url}\n` : mail.text;
  const html = `<p>${escapeHtml(mail.text).replace(/\n/g, '<br>')}</p>${mail.link ? `<p><a href="${escapeHtml(mail.link.url)}">${escapeHtml(mail.link.label)}</a></p>` : ''}`;
  try {
    await t.sendMail({ from: ctx.config.MAIL_FROM, to: mail.to, subject: mail.subject, text, html });
    return true;
  } catch (err) {
    logger.warn({ err, subject: mail.subject }, 'sending mail failed; the link is shown to copy instead');
    return false;
  }
}

/** The invite link (to copy), mailed as well for an email invite when mail is on. */
export async function deliverInvite(
  ctx: MailCtx,
  args: { token: string; invite: { email: string | null; role: string; orgId: string; projectId: string | null }; inviterName: string; orgName?: string; projectName?: string | null },
): Promise<{ url: string; mailed: boolean }> {
  const url = `${publicOrigin(ctx)}/invite/${args.token}`;
  if (!args.invite.email) return { url, mailed: false };
  const where = args.projectName ? `the project "${args.projectName}"` : args.orgName ? `the team "${args.orgName}"` : 'their team';
  const mailed = await sendMail(ctx, {
    to: args.invite.email,
    subject: `${args.inviterName} invited you to ${args.projectName ?? args.orgName ?? 'ClipMaker'}`,
    text: `${args.inviterName} invited you to ${where} on ClipMaker as ${args.invite.role}.\nThe link works once and expires; if you do not have an account yet you can create one on the way.`,
    link: { url, label: 'Accept the invite' },
  });
  return { url, mailed };
}
