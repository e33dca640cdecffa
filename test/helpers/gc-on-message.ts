/**
 * Preloaded (`--expose-gc --import`) into a server child by tests that measure its memory:
 * on the IPC message `gc` it collects garbage and answers `gc-done`, so what a test reads
 * from /proc afterwards is memory the server still holds, not garbage awaiting collection.
 */
process.on('message', (message) => {
  if (message !== 'gc') return;
  (globalThis as { gc?: () => void }).gc?.();
  process.send?.('gc-done');
});
// The channel must not keep the server alive once it has closed everything else.
process.channel?.unref();
