/**
 * Reads a Messages API conversation the way the fake model needs it: where the user's
 * current prompt is, what happened since, and what the user said before.
 */

export interface ContentBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: unknown;
}

export interface ApiMessage {
  role: string;
  content: string | ContentBlock[];
}

export interface ConversationView {
  /** The current prompt's user text, or '' when the conversation has none. */
  promptText: string;
  /** Texts of the user prompts before the current one, oldest first. */
  earlierPrompts: string[];
  /** Names of the tools the assistant called since the current prompt, in order. */
  toolsCalledSincePrompt: string[];
  /** Tool results carried by the very last message, when it is the user's tool_result turn. */
  pendingToolResults: string[];
}

export function readConversation(messages: ApiMessage[]): ConversationView {
  const promptIndex = findLastIndex(messages, isPrompt);
  const prompts = messages.filter((message, index) => index < promptIndex && isPrompt(message));
  const toolsCalled: string[] = [];
  for (const message of messages.slice(promptIndex + 1)) {
    if (message.role !== 'assistant') continue;
    for (const block of blocksOf(message)) {
      if (block.type === 'tool_use' && typeof block.name === 'string') toolsCalled.push(block.name);
    }
  }
  const last = messages.at(-1);
  const pendingToolResults =
    last?.role === 'user' && promptIndex !== messages.length - 1
      ? blocksOf(last)
          .filter((block) => block.type === 'tool_result')
          .map((block) => toolResultText(block.content))
      : [];
  return {
    promptText: promptIndex === -1 ? '' : userText(messages[promptIndex]!),
    earlierPrompts: prompts.map(userText),
    toolsCalledSincePrompt: toolsCalled,
    pendingToolResults,
  };
}

/**
 * A prompt is a user message with text of the user's own. Claude Code also sends user
 * messages that only return tool results, and prepends `<system-reminder>` text blocks to
 * real prompts; neither is something the user typed.
 */
function isPrompt(message: ApiMessage): boolean {
  if (message.role !== 'user') return false;
  const blocks = blocksOf(message);
  if (blocks.some((block) => block.type === 'tool_result')) return false;
  return userText(message) !== '';
}

/**
 * Markup Claude Code adds around what the user typed: reminders, and the record of a local
 * command such as the `/clear` that starts a fresh conversation in a reused process.
 */
const HARNESS_MARKUP =
  /<(system-reminder|local-command-caveat|command-name|command-message|command-args|local-command-stdout|local-command-stderr)>[\s\S]*?<\/\1>/g;

function withoutMarkup(text: string): string {
  return text.replace(HARNESS_MARKUP, '').trim();
}

function userText(message: ApiMessage): string {
  return blocksOf(message)
    .filter((block) => block.type === 'text' && typeof block.text === 'string')
    .map((block) => withoutMarkup(block.text as string))
    .filter((text) => text !== '')
    .join('\n')
    .trim();
}

function toolResultText(content: unknown): string {
  if (typeof content === 'string') return withoutMarkup(content);
  if (!Array.isArray(content)) return '';
  return content
    .filter((block): block is ContentBlock => typeof block === 'object' && block !== null)
    .map((block) =>
      block.type === 'text' && typeof block.text === 'string' ? withoutMarkup(block.text) : `[${block.type}]`,
    )
    .join('\n');
}

function blocksOf(message: ApiMessage): ContentBlock[] {
  if (typeof message.content === 'string') return [{ type: 'text', text: message.content }];
  return Array.isArray(message.content) ? message.content : [];
}

function findLastIndex<T>(items: T[], predicate: (item: T) => boolean): number {
  for (let index = items.length - 1; index >= 0; index--) {
    if (predicate(items[index]!)) return index;
  }
  return -1;
}
