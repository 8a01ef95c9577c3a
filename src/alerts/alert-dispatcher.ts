import { BackupError } from '../domain/errors.js';
import type { Alert, AlertChannel } from '../ports/alert-channel.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import { memoryAlertStateStore, type AlertStateStore } from '../ports/alert-state-store.js';
import { errorCode } from '../storage/retrying-object-storage.js';

/** What raising an alert needs; the dispatcher fills in state, time and the suppressed count. */
export type AlertInput = Omit<Alert, 'state' | 'time' | 'suppressedCount'>;

/** The outcome of one channel: delivered, or the code and message of why not (never secrets). */
export interface ChannelResult {
  channel: string;
  ok: boolean;
  error?: { code: string; message: string };
}

export interface DispatchResult {
  key: string;
  /** `sent`: handed to the channels (see `channels` for each one's outcome); `suppressed`: throttled. */
  outcome: 'sent' | 'suppressed';
  channels: ChannelResult[];
}

export interface AlertDispatcherOptions {
  channels: readonly AlertChannel[];
  logger: Logger;
  /** A firing alert with the same key goes out at most once per this many ms. Default one hour. */
  throttleMs?: number;
  clock?: Clock;
  /** Where open conditions are remembered. Default: this process's memory. */
  state?: AlertStateStore;
}

/**
 * Sends alerts to every configured channel, throttles repeats of the same condition and announces its
 * recovery. A failing channel never makes `dispatch` throw: its failure is in the returned results and
 * logged as a warning, so an unreachable Slack cannot fail the backup that raised the alert, nor keep
 * the other channels from delivering.
 *
 * Throttling is per `key`: after a firing alert is delivered, repeats within `throttleMs` are counted,
 * not sent, and the next delivered message (a repeat after the window, or the recovery) says how many
 * were suppressed. A send that no channel accepted does not start the window, so the next repeat tries
 * again. `resolve(key)` sends one `resolved` message if a firing one went out, and forgets the key.
 *
 * Open conditions live in an {@link AlertStateStore}: the catalog's for the CLI and the server, so a
 * condition raised by one `health` run is throttled, and resolved, by the next.
 */
export class AlertDispatcher {
  private readonly channels: readonly AlertChannel[];
  private readonly logger: Logger;
  private readonly throttleMs: number;
  private readonly clock: Clock;
  private readonly conditions: AlertStateStore;

  constructor(options: AlertDispatcherOptions) {
    this.channels = options.channels;
    this.logger = options.logger;
    this.throttleMs = options.throttleMs ?? 60 * 60 * 1000;
    this.clock = options.clock ?? systemClock;
    this.conditions = options.state ?? memoryAlertStateStore();
  }

  /** Raises (or repeats) a firing alert. Never rejects because of a channel. */
  async dispatch(input: AlertInput): Promise<DispatchResult> {
    const now = this.clock.now();
    const state = await this.conditions.get(input.key);
    if (state && now.getTime() - state.lastSentAt < this.throttleMs) {
      state.suppressed++;
      await this.conditions.put(input.key, state);
      this.logger.debug('alert suppressed by throttling', { key: input.key, suppressed: state.suppressed });
      return { key: input.key, outcome: 'suppressed', channels: [] };
    }
    const suppressed = state?.suppressed ?? 0;
    const alert: Alert = { ...input, state: 'firing', time: now.toISOString(), ...(suppressed > 0 ? { suppressedCount: suppressed } : {}) };
    const channels = await this.sendToAll(alert);
    if (channels.some((result) => result.ok)) await this.conditions.put(input.key, { lastSentAt: now.getTime(), suppressed: 0, lastAlert: alert });
    return { key: input.key, outcome: 'sent', channels };
  }

  /**
   * The condition `key` has cleared: sends one `resolved` message if a firing alert had gone out, and
   * forgets the key. Returns undefined when there was nothing to resolve.
   */
  async resolve(key: string): Promise<DispatchResult | undefined> {
    const state = await this.conditions.get(key);
    if (!state) return undefined;
    await this.conditions.delete(key);
    const { suppressedCount: _previous, ...firing } = state.lastAlert;
    const alert: Alert = { ...firing, state: 'resolved', time: this.clock.now().toISOString(), ...(state.suppressed > 0 ? { suppressedCount: state.suppressed } : {}) };
    return { key, outcome: 'sent', channels: await this.sendToAll(alert) };
  }

  /** The keys of conditions that have fired and not cleared, for health output. */
  openConditions(): Promise<string[]> {
    return this.conditions.keys();
  }

  private sendToAll(alert: Alert): Promise<ChannelResult[]> {
    return Promise.all(
      this.channels.map(async (channel): Promise<ChannelResult> => {
        try {
          await channel.send(alert);
          return { channel: channel.name, ok: true };
        } catch (error) {
          // Only our own errors' messages are passed on: they are written not to carry secrets; anything
          // else (a library's message may quote a URL) is reduced to its code.
          const code = errorCode(error);
          const message = error instanceof BackupError ? error.message : `${channel.name} alert failed (${code})`;
          this.logger.warn('alert channel failed', { channel: channel.name, key: alert.key, state: alert.state, code, error: message });
          return { channel: channel.name, ok: false, error: { code, message } };
        }
      }),
    );
  }
}
