/**
 * Decides what the fake model answers to one Messages API request. The answer is derived
 * from the conversation alone (no server state), so retries, side calls and concurrent
 * sessions can never consume or reorder another request's script.
 */
import { type ApiMessage, type ConversationView, readConversation } from './conversation.ts';
import { type Directives, parseDirectives } from './directives.ts';
import { exampleForSchema } from './schema-example.ts';

/** Claude Code's tool for `--json-schema` / `outputFormat`; the final answer is its input. */
export const STRUCTURED_OUTPUT_TOOL = 'StructuredOutput';

export type OutputBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: OutputBlock[];
  stop_reason: 'end_turn' | 'tool_use';
  stop_sequence: null;
  usage: Usage;
}

export type Reply =
  | { kind: 'error'; status: number; delayMs: number }
  | { kind: 'message'; delayMs: number; message: AnthropicMessage };

export interface MessagesRequest {
  model?: string;
  messages?: ApiMessage[];
  system?: unknown;
  tools?: Array<{ name?: string; input_schema?: unknown }>;
  output_config?: { format?: { type?: string; schema?: unknown } };
  stream?: boolean;
}

let messageCounter = 0;

export function planReply(request: MessagesRequest): Reply {
  const messages = Array.isArray(request.messages) ? request.messages : [];
  const conversation = readConversation(messages);
  const build = (content: OutputBlock[]): AnthropicMessage => buildMessage(request, content);

  // Claude Code's helper calls (session titles and the like) ask for JSON via output_config
  // and offer no tools; they quote the prompt, so directives there must not fire twice.
  const format = request.output_config?.format;
  if (format?.type === 'json_schema') {
    return {
      kind: 'message',
      delayMs: 0,
      message: build([text(JSON.stringify(exampleForSchema(format.schema)))]),
    };
  }

  const directives = parseDirectives(conversation.promptText);
  // Sleep and error act on the prompt's first answer only: a tool loop after it runs at full speed.
  const isFirstAnswer =
    conversation.toolsCalledSincePrompt.length === 0 && conversation.pendingToolResults.length === 0;
  const delayMs = isFirstAnswer ? (directives.sleepMs ?? 0) : 0;
  if (isFirstAnswer && directives.errorStatus !== undefined) {
    return { kind: 'error', status: directives.errorStatus, delayMs };
  }
  return {
    kind: 'message',
    delayMs,
    message: build(answerBlocks(request, conversation, directives, messages.length)),
  };
}

function answerBlocks(
  request: MessagesRequest,
  conversation: ConversationView,
  directives: Directives,
  turn: number,
): OutputBlock[] {
  const offered = Array.isArray(request.tools) ? request.tools : [];
  const called = conversation.toolsCalledSincePrompt;
  const nextTool = offered.length > 0 ? directives.tools[called.length] : undefined;
  if (nextTool) return [toolUse(turn, nextTool.name, nextTool.input)];

  const structured = offered.find((tool) => tool.name === STRUCTURED_OUTPUT_TOOL);
  if (structured && !called.includes(STRUCTURED_OUTPUT_TOOL)) {
    return [toolUse(turn, STRUCTURED_OUTPUT_TOOL, asObject(exampleForSchema(structured.input_schema)))];
  }

  if (conversation.pendingToolResults.length > 0) {
    return [text(`Tool result: ${conversation.pendingToolResults.join('\n')}`)];
  }
  if (directives.isRecall) {
    const recalled = conversation.earlierPrompts.join('\n');
    return [text(recalled || '(no earlier user messages)')];
  }
  if (directives.words !== undefined) {
    const words = Array.from({ length: directives.words }, (_, index) => `word${index + 1}`);
    return [text(words.join(' ') || '(no words)')];
  }
  return [text(`Echo: ${conversation.promptText}`)];
}

function buildMessage(request: MessagesRequest, content: OutputBlock[]): AnthropicMessage {
  const hasToolUse = content.some((block) => block.type === 'tool_use');
  messageCounter += 1;
  return {
    id: `msg_fake_${messageCounter.toString().padStart(6, '0')}`,
    type: 'message',
    role: 'assistant',
    model: request.model ?? 'claude-fake',
    content,
    stop_reason: hasToolUse ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: estimateInputTokens(request),
      output_tokens: content.reduce((sum, block) => sum + outputTokens(block), 0),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    },
  };
}

/** Roughly four characters per token, like the real tokenizer on English text. */
export function estimateInputTokens(request: Pick<MessagesRequest, 'messages' | 'system' | 'tools'>): number {
  const chars = JSON.stringify(request.messages ?? []).length + JSON.stringify(request.system ?? '').length;
  return Math.max(1, Math.ceil(chars / 4));
}

/** One token per streamed word, one per four characters of tool input. */
export function outputTokens(block: OutputBlock): number {
  if (block.type === 'text') return splitWords(block.text).length;
  return Math.max(1, Math.ceil(JSON.stringify(block.input).length / 4));
}

/** Splits text into the pieces sent as separate text deltas; they concatenate back to the text. */
export function splitWords(value: string): string[] {
  return value.match(/\s*\S+\s*/g) ?? (value ? [value] : []);
}

/** Stable per conversation position, so recorded fixtures and retries see the same ids. */
function toolUse(turn: number, name: string, input: Record<string, unknown>): OutputBlock {
  return { type: 'tool_use', id: `toolu_fake_${turn.toString().padStart(4, '0')}`, name, input };
}

function text(value: string): OutputBlock {
  return { type: 'text', text: value };
}

function asObject(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
