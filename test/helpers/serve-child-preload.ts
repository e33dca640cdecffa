/**
 * Preloaded (`--expose-gc --import`) into every server child a test starts
 * (serve-process.ts). On the IPC message `gc` it collects garbage and answers `gc-done`, so
 * what a test reads from /proc afterwards is memory the server still holds, not garbage
 * awaiting collection.
 */
process.on('message', (message) => {
  if (message !== 'gc') return;
  (globalThis as { gc?: () => void }).gc?.();
  process.send?.('gc-done');
});
// The channel must not keep the server alive once it has closed everything else.
process.channel?.unref();
// The test that started this server died (killed at its time limit, say): so does the server.
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
