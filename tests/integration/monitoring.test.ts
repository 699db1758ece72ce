/**
 * docker/monitoring: the alert rules hold every operating threshold and pass their promtool unit
 * tests (firing past each threshold, silent under it); the Prometheus config loads; every Grafana
 * dashboard query is valid PromQL (checked by promtool as a recording rule) and names metrics that
 * the app, the collab-server or a profile exporter really exports; amtool validates the Alertmanager
 * config and shows each alert routed to its receiver. promtool and amtool: Debian's prometheus and
 * prometheus-alertmanager packages (.ci/run installs them).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MON = path.join(ROOT, 'docker/monitoring');
const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: path.join(MON, 'prometheus'), encoding: 'utf8' });

const amtool = (...args: string[]) => spawnSync('amtool', args, { cwd: path.join(MON, 'alertmanager'), encoding: 'utf8' });

/**
 * alertmanager.yml for amtool. The compose image (v0.27) reads the on-call webhook URL from a file
 * (`url_file`, Alertmanager >= 0.26); Debian's amtool is 0.25 and does not know that field, so the
 * copy checked here has that one line, and nothing else, replaced by an inline URL.
 */
function amtoolConfig(): string {
  const text = readFileSync(path.join(MON, 'alertmanager/alertmanager.yml'), 'utf8');
  const lines = text.split('\n');
  const swapped = lines.map((l) => l.replace(/^(\s*- )url_file: \S+$/, '$1url: http://oncall.invalid/'));
  expect(swapped.filter((l, i) => l !== lines[i])).toHaveLength(1);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'cm-am-')), 'alertmanager.yml');
  writeFileSync(file, swapped.join('\n'));
  return file;
}

describe('monitoring (docker/monitoring)', () => {
  it('promtool is installed (apt prometheus)', () => {
    const r = promtool('--version');
    expect(r.error, 'promtool missing: apt-get install prometheus').toBeUndefined();
    expect(r.status).toBe(0);
  });

  it('alert rules: valid, and their unit tests pass', () => {
    const check = promtool('check', 'rules', 'alerts.yml');
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const test = promtool('test', 'rules', 'alerts.test.yml');
    expect(test.status, test.stdout + test.stderr).toBe(0);
  });

  it('every seed threshold has an alert: p99 > 500 ms, errors > 2 %, queue > 20, failures > 5/h, disk > 80 %, CPU > 90 % for 5 min, memory > 85 %', () => {
    const rules = readFileSync(path.join(MON, 'prometheus/alerts.yml'), 'utf8');
    const alert = (name: string) => {
      const m = new RegExp(`- alert: ${name}\\n\\s+expr: ([\\s\\S]*?)\\n\\s+(for: (\\S+)\\n\\s+)?labels`).exec(rules);
      expect(m, name).not.toBeNull();
      return { expr: m![1]!.replace(/\s+/g, ' '), for: m![3] ?? null };
    };
    expect(alert('ApiLatencyP99High')).toMatchObject({ for: '5m' });
    expect(alert('ApiLatencyP99High').expr).toMatch(/histogram_quantile\(0\.99,.*clipmaker_http_request_duration_seconds_bucket.*> 0\.5$/);
    expect(alert('ApiErrorRateHigh').expr).toMatch(/status=~"5\.\.".*> 0\.02$/);
    expect(alert('RenderQueueBacklog').expr).toMatch(/clipmaker_render_queue_depth\{state="waiting"\}\) > 20$/);
    expect(alert('RenderFailuresHigh').expr).toMatch(/increase\(clipmaker_render_failures_total\{status="failed"\}\[1h\]\)\) > 5$/);
    expect(alert('StorageDiskFull').expr).toMatch(/> 0\.8$/);
    expect(alert('HostDiskFull').expr).toMatch(/> 0\.8$/);
    expect(alert('HostCpuHigh')).toMatchObject({ for: '5m' });
    expect(alert('HostCpuHigh').expr).toMatch(/> 0\.9$/);
    expect(alert('HostMemoryHigh').expr).toMatch(/> 0\.85$/);
    // Each alert is exercised by the unit tests.
    const tests = readFileSync(path.join(MON, 'prometheus/alerts.test.yml'), 'utf8');
    for (const name of [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!)) expect(tests, name).toMatch(new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
  });

  it('the Prometheus config loads with its rules', () => {
    const r = promtool('check', 'config', 'prometheus.yml');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('Grafana dashboards (app, farm, collab): every query is valid PromQL over metrics that exist', () => {
    const dir = path.join(MON, 'grafana/dashboards');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    expect(files).toEqual(['app.json', 'collab.json', 'farm.json']);
    const exported = [
      readFileSync(path.join(ROOT, 'app/src/lib/server/metrics.ts'), 'utf8'),
      readFileSync(path.join(ROOT, 'collab-server/src/metrics.ts'), 'utf8'),
    ].flatMap((src) => [...src.matchAll(/name: '([a-z_]+)'/g)].map((m) => m[1]!));
    const known = (metric: string) =>
      exported.some((n) => metric === n || metric === `${n}_bucket` || metric === `${n}_count` || metric === `${n}_sum`) || /^(node_|pg_|redis_|clipmaker_app_process_)/.test(metric);
    const exprs: string[] = [];
    for (const f of files) {
      const d = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { uid: string; panels: Array<{ title: string; datasource: { uid: string }; targets: Array<{ expr: string }> }> };
      expect(d.uid).toBe(`clipmaker-${f.replace('.json', '')}`);
      expect(d.panels.length).toBeGreaterThan(3);
      for (const p of d.panels) {
        expect(p.datasource.uid, p.title).toBe('prometheus');
        for (const t of p.targets) {
          exprs.push(t.expr);
          const metrics = [...t.expr.replace(/\{[^}]*\}/g, '').matchAll(/\b([a-z][a-z0-9_]*_[a-z0-9_]+)\b/g)].map((m) => m[1]!).filter((m) => !/^(histogram_quantile|by|sum|rate|increase|max|avg|ignoring)$/.test(m));
          for (const m of metrics) expect(known(m), `${f} "${p.title}": ${m}`).toBe(true);
        }
      }
    }
    const tmp = mkdtempSync(path.join(tmpdir(), 'cm-dash-'));
    const rulesFile = path.join(tmp, 'dashboards.rules.yml');
    writeFileSync(rulesFile, `groups:\n  - name: dashboards\n    rules:\n${exprs.map((e, i) => `      - record: dashboard:q${i}\n        expr: ${JSON.stringify(e)}\n`).join('')}`);
    const r = spawnSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // Provisioning points Grafana at them and at Prometheus.
    expect(readFileSync(path.join(MON, 'grafana/provisioning/dashboards/clipmaker.yml'), 'utf8')).toContain('/var/lib/grafana/dashboards');
    expect(readFileSync(path.join(MON, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')).toContain('uid: prometheus');
  });

  it('amtool is installed (apt prometheus-alertmanager)', () => {
    const r = amtool('--version');
    expect(r.error, 'amtool missing: apt-get install prometheus-alertmanager').toBeUndefined();
    expect(r.status).toBe(0);
  });

  it('amtool: the Alertmanager config is valid and routes every alert of alerts.yml to the receiver its severity names', () => {
    const config = amtoolConfig();
    const check = amtool('check-config', config);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/SUCCESS[\s\S]*2 receivers/);
    const y = spawnSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', path.join(MON, 'prometheus/alerts.yml')], { encoding: 'utf8' });
    expect(y.status, y.stderr).toBe(0);
    const rules = (JSON.parse(y.stdout) as { groups: Array<{ rules: Array<{ alert?: string; labels?: Record<string, string> }> }> }).groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(rules.length).toBeGreaterThanOrEqual(9);
    const receiverFor: Record<string, string> = { page: 'oncall', ticket: 'ops-email' };
    for (const r of rules) {
      const severity = r.labels?.severity ?? '';
      expect(receiverFor[severity], `${r.alert}: severity ${severity}`).toBeDefined();
      const route = amtool('config', 'routes', 'test', `--config.file=${config}`, `--verify.receivers=${receiverFor[severity]}`, `alertname=${r.alert}`, `severity=${severity}`, 'instance=host-1');
      expect(route.status, `${r.alert} -> ${route.stdout}${route.stderr}`).toBe(0);
    }
    // The check can fail: a page does not reach the ticket e-mail alone.
    expect(amtool('config', 'routes', 'test', `--config.file=${config}`, '--verify.receivers=ops-email', 'alertname=ApiErrorRateHigh', 'severity=page').status).not.toBe(0);
  });

  it('Alertmanager routes pages to the on-call webhook + e-mail and tickets to e-mail', () => {
    const y = spawnSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', path.join(MON, 'alertmanager/alertmanager.yml')], { encoding: 'utf8' });
    expect(y.status, y.stderr).toBe(0);
    const am = JSON.parse(y.stdout) as { route: { receiver: string; routes: Array<{ matchers: string[]; receiver: string }> }; receivers: Array<{ name: string; webhook_configs?: unknown[]; email_configs?: unknown[] }> };
    expect(am.route.receiver).toBe('ops-email');
    expect(am.route.routes).toContainEqual(expect.objectContaining({ matchers: ['severity="page"'], receiver: 'oncall' }));
    const oncall = am.receivers.find((r) => r.name === 'oncall')!;
    expect(oncall.webhook_configs?.length).toBe(1);
    expect(oncall.email_configs?.length).toBe(1);
    // Every severity an alert uses has a route.
    const rules = readFileSync(path.join(MON, 'prometheus/alerts.yml'), 'utf8');
    expect(new Set([...rules.matchAll(/severity: (\w+)/g)].map((m) => m[1]))).toEqual(new Set(['page', 'ticket']));
  });
});
