// A one-line progress display for long CLI operations (`fluxo runs backfill`, `fluxo register`).
// Only on a terminal: piped or redirected stderr (CI logs, scripts) gets nothing, so output stays
// clean for machines.

/** A progress line; every method does nothing when stderr is not a terminal. */
export interface Progress {
  /** Shows `label done/total` (and a bar when the total is known). */
  update(done: number, total?: number): void;
  /** Clears the line. */
  done(): void;
}

const BAR_WIDTH = 24;

/**
 * A progress line on stderr when it is a TTY, redrawn at most every 100 ms.
 *
 * @example
 * const progress = progressLine('backfilling');
 * progress.update(120, 800);
 * progress.done();
 */
export function progressLine(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  let lastDraw = 0;
  let drawn = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - lastDraw < 100 && (total === undefined || done < total)) return;
      lastDraw = now;
      drawn = true;
      let text = `${label} ${done}`;
      if (total !== undefined && total > 0) {
        const filled = Math.round((Math.min(done, total) / total) * BAR_WIDTH);
        text = `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${done}/${total}`;
      }
      stream.write(`\r${text}\x1b[K`);
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
