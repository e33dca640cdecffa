import { z } from 'zod';
import { defineAction } from './types.ts';

/**
 * The original's display actions exist for a real X display around a windowed Firefox.
 * Here input is dispatched at viewport coordinates and there is no window chrome, so
 * calibrate has nothing to measure (offset 0,0, what the original reports for a window
 * without chrome) and the "resolution" is the viewport. Fullscreen is the page's own
 * Fullscreen API, as the original drives it.
 */

export const calibrate = defineAction({
  name: 'calibrate',
  description:
    'Viewport-to-screen offset for system_click: always 0,0 here (input is dispatched at viewport coordinates).',
  params: z.object({}),
  async run() {
    return { window_offset: { x: 0, y: 0 } };
  },
});

export const getResolution = defineAction({
  name: 'get_resolution',
  description: 'Size of the display: the viewport, since there is no desktop around a headless browser.',
  params: z.object({}),
  async run({ page }) {
    return page.viewportSize() ?? { width: 1280, height: 720 };
  },
});

export const enterFullscreen = defineAction({
  name: 'enter_fullscreen',
  description: "Put the page's root element in fullscreen (the page's Fullscreen API).",
  params: z.object({}),
  async run({ page }) {
    const wasFullscreen = await page.evaluate(() => document.fullscreenElement !== null);
    if (!wasFullscreen) await page.evaluate(() => document.documentElement.requestFullscreen());
    return { fullscreen: true, changed: !wasFullscreen };
  },
});

export const exitFullscreen = defineAction({
  name: 'exit_fullscreen',
  description: 'Leave fullscreen (the page’s Fullscreen API).',
  params: z.object({}),
  async run({ page }) {
    const wasFullscreen = await page.evaluate(() => document.fullscreenElement !== null);
    if (wasFullscreen) await page.evaluate(() => document.exitFullscreen());
    return { fullscreen: false, changed: wasFullscreen };
  },
});

/**
 * The original records its X display with ffmpeg into a mounted /recordings volume and fails
 * fast when there is none. Here there is neither display nor volume: start_recording fails
 * the same way, nothing is ever recording.
 */
export const startRecording = defineAction({
  name: 'start_recording',
  description:
    'Not available here: there is no display to record (always fails, as the original without /recordings).',
  params: z.object({
    mode: z.enum(['window', 'viewport', 'desktop']).default('window'),
    fps: z.number().int().min(1).max(60).default(15),
    show_cursor: z.boolean().default(true),
  }),
  async run() {
    throw new Error(
      'recording is not available: this server has no display to capture and no /recordings volume',
    );
  },
});

export const stopRecording = defineAction({
  name: 'stop_recording',
  description: 'Stop the active recording (there never is one here).',
  params: z.object({ slug: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/, 'invalid slug') }),
  async run() {
    throw new Error('no active recording');
  },
});

export const recordingStatus = defineAction({
  name: 'recording_status',
  description: 'Whether a recording is active: never, here.',
  params: z.object({}),
  async run() {
    return { active: false };
  },
});

/**
 * The original's close shuts its (single-user) browser down. Here the caller's browser is
 * its replica's context: it is thrown away after this action, and the next request starts
 * a fresh one (no cookies, storage or tabs).
 */
export const close = defineAction({
  name: 'close',
  description:
    "Close this caller's browser: its tabs, cookies and storage are discarded; the next action starts fresh.",
  params: z.object({}),
  async run({ discardAfter }) {
    discardAfter();
    return { message: 'closing' };
  },
});

/**
 * The original feeds getUserMedia() from files under VIRTUAL_MEDIA_DIR when it is configured,
 * and switches or uploads them only in its opt-in dynamic mode. Here no media directory is
 * configured: the state says no source is active, and the two dynamic actions fail as the
 * original does with dynamic mode off. Pages that ask for a camera get none.
 */
export const getVirtualMediaState = defineAction({
  name: 'get_virtual_media_state',
  description: 'Virtual camera/microphone sources for getUserMedia(): none are configured here.',
  params: z.object({}),
  async run() {
    return {
      camera: { configured: false, active: false, source: null },
      microphone: { configured: false, active: false, source: null },
      dynamic: false,
    };
  },
});

const DYNAMIC_MEDIA_OFF =
  'dynamic virtual media is disabled (no VIRTUAL_MEDIA_DIR is configured on this server)';

export const setVirtualMediaSource = defineAction({
  name: 'set_virtual_media_source',
  description: 'Select a virtual media source: always fails here (dynamic virtual media is off).',
  params: z.object({ kind: z.enum(['camera', 'microphone']), source: z.string().max(255) }),
  async run() {
    throw new Error(DYNAMIC_MEDIA_OFF);
  },
});

export const uploadVirtualMedia = defineAction({
  name: 'upload_virtual_media',
  description: 'Upload a virtual media file: always fails here (dynamic virtual media is off).',
  params: z.object({
    kind: z.enum(['camera', 'microphone']),
    filename: z.string().max(255),
    content_base64: z.string(),
    activate: z.boolean().optional(),
  }),
  async run() {
    throw new Error(DYNAMIC_MEDIA_OFF);
  },
});
