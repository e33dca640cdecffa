// @ts-check
/**
 * Renders a run's events as they arrive: streamed text, tool calls and their results,
 * status changes and the final result. Everything the agent produced is untrusted and is
 * only ever put into the page as text nodes.
 */
import { h } from './dom.js';

/** @typedef {import('./events.js').RunEventMessage} RunEventMessage */

/** @param {unknown} value */
function asText(value) {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const texts = value.map((part) =>
      part && typeof part === 'object' && 'text' in part ? String(part.text) : JSON.stringify(part, null, 2),
    );
    return texts.join('\n');
  }
  return JSON.stringify(value, null, 2) ?? '';
}

export class Transcript {
  /** @param {{ compact?: boolean }} [opts] */
  constructor(opts = {}) {
    this.el = h('div', { class: opts.compact ? 'transcript compact' : 'transcript', 'aria-live': 'polite' });
    /** @type {Text | undefined} the text node streamed deltas are appended to */
    this.openText = undefined;
    this.hasDeltasSinceMessage = false;
    this.hasAnyText = false;
    this.isCompact = Boolean(opts.compact);
    /** @type {Map<string, HTMLElement>} */
    this.tools = new Map();
  }

  /** @param {string} text */
  appendText(text) {
    if (!this.openText) {
      this.openText = document.createTextNode('');
      this.el.append(h('div', { class: 'assistant-text', 'data-kind': 'text' }, this.openText));
    }
    this.openText.appendData(text);
    this.hasAnyText = true;
  }

  closeText() {
    this.openText = undefined;
  }

  /** @param {RunEventMessage} e */
  add(e) {
    const d = e.data ?? {};
    switch (e.type) {
      case 'text_delta':
        this.appendText(String(d.text ?? ''));
        this.hasDeltasSinceMessage = true;
        break;
      case 'message': {
        // Streamed text arrives as deltas first; the whole message repeats it. Show a
        // message's text only when no deltas came for it (an agent that does not stream).
        if (d.role === 'assistant' && !this.hasDeltasSinceMessage) {
          for (const block of Array.isArray(d.content) ? d.content : []) {
            if (block?.type === 'text') this.appendText(String(block.text ?? ''));
          }
        }
        if (d.role === 'assistant') {
          this.hasDeltasSinceMessage = false;
          this.closeText();
        }
        break;
      }
      case 'tool_use':
        this.closeText();
        this.addTool(d);
        break;
      case 'tool_result':
        this.closeText();
        this.addToolResult(d);
        break;
      case 'status':
        if (!this.isCompact && d.status !== 'running' && d.status !== 'queued') {
          this.closeText();
          this.el.append(
            h(
              'p',
              { class: `event status-line s-${d.status}` },
              `Run ${d.status}`,
              d.detail ? `: ${d.detail}` : '',
            ),
          );
        }
        break;
      case 'result': {
        this.closeText();
        const r = d.result ?? {};
        if (!this.hasAnyText && r.text) this.appendText(String(r.text));
        this.closeText();
        if (!this.isCompact) this.el.append(resultSummary(r));
        break;
      }
      case 'error': {
        // A run's error event is {code, message}; a failed stream's is {error: {code, message}}.
        const err = d.error && typeof d.error === 'object' ? d.error : d;
        this.closeText();
        this.el.append(
          h(
            'p',
            { class: 'event error-line', role: 'alert' },
            `Error (${err.code ?? 'error'}): ${err.message ?? ''}`,
          ),
        );
        break;
      }
      case 'session':
      case 'model_call':
      case 'end':
        break;
      default:
        if (!this.isCompact) {
          this.closeText();
          this.el.append(
            h(
              'details',
              { class: 'event other' },
              h('summary', {}, e.type),
              h('pre', {}, JSON.stringify(d, null, 2)),
            ),
          );
        }
    }
  }

  /** @param {any} d */
  addTool(d) {
    const result = h('div', { class: 'tool-result pending' }, 'running…');
    const box = h(
      'details',
      { class: 'event tool', 'data-kind': 'tool', open: true },
      h('summary', {}, h('span', { class: 'tool-name' }, `Tool: ${d.name ?? '?'}`)),
      h('pre', { class: 'tool-input' }, asText(d.input)),
      result,
    );
    this.tools.set(String(d.id), result);
    this.el.append(box);
  }

  /** @param {any} d */
  addToolResult(d) {
    const text = asText(d.content);
    const body = h('pre', { class: d.isError ? 'tool-output is-error' : 'tool-output' }, text);
    const slot = this.tools.get(String(d.toolUseId));
    if (slot) {
      slot.className = d.isError ? 'tool-result is-error' : 'tool-result';
      slot.replaceChildren(h('span', { class: 'label' }, d.isError ? 'Tool error' : 'Tool result'), body);
    } else {
      this.el.append(h('div', { class: 'event tool-result', 'data-kind': 'tool-result' }, body));
    }
  }
}

/** @param {any} r */
export function resultSummary(r) {
  const usage = r.usage ?? {};
  const parts = [
    r.subtype ? `${r.subtype}` : '',
    r.numTurns !== undefined ? `${r.numTurns} turns` : '',
    r.durationMs !== undefined ? `${(r.durationMs / 1000).toFixed(1)} s` : '',
    usage.inputTokens !== undefined ? `${usage.inputTokens} in / ${usage.outputTokens} out tokens` : '',
    typeof r.totalCostUsd === 'number' ? `$${r.totalCostUsd.toFixed(4)}` : '',
  ].filter(Boolean);
  return h(
    'p',
    { class: r.isError ? 'event result is-error' : 'event result' },
    `Result: ${parts.join(' · ')}`,
  );
}
