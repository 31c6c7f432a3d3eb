import type { ConfigIssue } from '../../config/config-error.ts';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A small server-rendered page (login, first password, setup): works without JavaScript. */
function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · mfp-gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body class="narrow">
<header class="top"><h1>mfp-gateway</h1></header>
<main>
${body}
</main>
</body>
</html>
`;
}

function notice(message: string | undefined, kind: 'error' | 'info' = 'error'): string {
  return message ? `<p class="notice ${kind}" role="alert">${escapeHtml(message)}</p>` : '';
}

/** The login form. */
export function loginPage(gatewayId: string, csrf: string, message?: string): string {
  return page(
    'Log in',
    `<section class="card">
<h2>Log in to ${escapeHtml(gatewayId)}</h2>
${notice(message)}
<form method="post" action="/login">
<input type="hidden" name="_csrf" value="${escapeHtml(csrf)}">
<label>Password <input type="password" name="password" autocomplete="current-password" required autofocus></label>
<button type="submit">Log in</button>
</form>
</section>`,
  );
}

/** The first-boot form that sets the page's password (the config sets none). */
export function setPasswordPage(gatewayId: string, csrf: string, message?: string): string {
  return page(
    'Set a password',
    `<section class="card">
<h2>Set the password of ${escapeHtml(gatewayId)}</h2>
<p>No password is set for this status page yet. Choose one now; it is stored hashed on the gateway.</p>
${notice(message)}
<form method="post" action="/set-password">
<input type="hidden" name="_csrf" value="${escapeHtml(csrf)}">
${setupCodeField()}
${passwordFields()}
<button type="submit">Set password</button>
</form>
</section>`,
  );
}

/**
 * The first-boot setup code: proves the visitor has the box (printed in its log at start, and
 * in the state directory's `setup-code`).
 */
function setupCodeField(): string {
  return `<label>Setup code <input name="setupCode" autocomplete="off" autocapitalize="characters" spellcheck="false" placeholder="XXXX-XXXX-XXXX" required></label>
<p class="hint">Printed in the gateway's log when it started (<code>journalctl -u mfp-gateway | grep "setup code"</code>) and kept in <code>setup-code</code> in its state directory.</p>`;
}

function passwordFields(): string {
  return `<label>Password <input type="password" name="password" autocomplete="new-password" minlength="8" required></label>
<label>Repeat it <input type="password" name="confirm" autocomplete="new-password" minlength="8" required></label>`;
}

/** The config file in an editor, its secrets shown as *** (config-text.ts). */
export interface ConfigEditor {
  text: string;
  /** No password protects the page yet: saving takes the setup code. */
  needsCode: boolean;
}

/** Setup mode with a config that does not validate: every problem, and how to go on. */
export function configErrorsPage(
  file: string,
  issues: ConfigIssue[],
  csrf: string,
  message?: string,
  editor?: ConfigEditor,
): string {
  const rows = issues
    .map(
      (i) =>
        `<tr><td><code>${escapeHtml(i.key)}</code></td><td>${i.value === '' ? '—' : `<code>${escapeHtml(i.value)}</code>`}</td><td>${escapeHtml(i.expected)}</td></tr>`,
    )
    .join('\n');
  return page(
    'Setup: config errors',
    `<section class="card">
<h2>The gateway is not running: its config has errors</h2>
<p>File <code>${escapeHtml(file)}</code>. Fix each key below here in the page, or on the gateway (or
drop a corrected <code>mfp-gateway.yaml</code> on the SD card's boot partition and restart) and check again.</p>
${notice(message)}
<div class="scroll"><table class="issues">
<thead><tr><th>key</th><th>value</th><th>expected</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>
<form method="post" action="/setup/recheck">
<input type="hidden" name="_csrf" value="${escapeHtml(csrf)}">
<button type="submit" class="secondary">Check the file again</button>
</form>
</section>
${editor ? configEditor(csrf, editor) : ''}`,
  );
}

function configEditor(csrf: string, editor: ConfigEditor): string {
  return `<section class="card">
<h2>Edit the config</h2>
<p class="hint">Saved only once it is valid; the gateway then starts. Secrets show as <code>***</code>:
leave a <code>***</code> line as it is to keep its secret, or type the new value over it.</p>
<form method="post" action="/setup/save">
<input type="hidden" name="_csrf" value="${escapeHtml(csrf)}">
<label>Config (YAML) <textarea name="config" rows="24" spellcheck="false" autocapitalize="off" autocomplete="off">${escapeHtml(editor.text)}</textarea></label>
${editor.needsCode ? setupCodeField() : ''}
<button type="submit">Save and start</button>
</form>
</section>`;
}

/** Setup mode without a config: the onboarding form. */
export function onboardingPage(
  file: string,
  csrf: string,
  values: { id?: string; url?: string },
  message?: string,
  issues: ConfigIssue[] = [],
): string {
  const problems = issues.length
    ? `<ul class="notice error">${issues
        .map((i) => `<li><code>${escapeHtml(i.key)}</code>: expected ${escapeHtml(i.expected)}</li>`)
        .join('')}</ul>`
    : '';
  return page(
    'Setup',
    `<section class="card">
<h2>Set up this gateway</h2>
<p>No config yet (<code>${escapeHtml(file)}</code>). Enter what the cloud registered for this gateway
and a password for this page.</p>
${notice(message)}${problems}
<form method="post" action="/setup/onboard">
<input type="hidden" name="_csrf" value="${escapeHtml(csrf)}">
<label>Gateway id <input name="id" value="${escapeHtml(values.id ?? '')}" required pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}"></label>
<label>Cloud URL <input name="url" value="${escapeHtml(values.url ?? '')}" placeholder="wss://cloud.example.com/push" required></label>
<label>Cloud token <input type="password" name="token" autocomplete="off" minlength="16" required></label>
${setupCodeField()}
${passwordFields()}
<button type="submit">Save and start</button>
</form>
</section>`,
  );
}

/** A one-message page (too many attempts, refused form, starting). */
export function messagePage(title: string, message: string, kind: 'error' | 'info' = 'error'): string {
  return page(title, `<section class="card"><h2>${escapeHtml(title)}</h2>${notice(message, kind)}</section>`);
}
