// When the lab may name a winner (static/lab/lab.js), as one pure function: `decide` takes
// two views' per-round samples of one measure and returns the call and the sentence shown.
// tests/lab/test_verdict.py replays recorded noisy samples through it with node.
//
// A 2-core machine running the browser, the server and the upstream is noisy: one round in
// four can be slowed by something else, and four rounds whose ranges happen not to overlap
// named false winners ("sync_question 1.5× faster"). So a winner needs all of:
//
// - its rounds' range and the other's do not overlap: each of its rounds beat every one of
//   the other's (adding rounds only widens ranges, so an overlap is final);
// - the medians differ by at least RATIO, in all rounds and in each batch of FIRST_ROUNDS;
// - the medians differ by at least MIN_DIFF_MS: the browser's own scheduling (timers, a
//   garbage collection, connections shared with the pollers) moves a batch by a few ms;
// - CONFIRM_ROUNDS rounds: when the first batch points to a winner, lab.js runs a second
//   batch, and the claim must hold over both.
//
// Anything less is "within noise, run again".
"use strict";

const labVerdict = (() => {
  const FIRST_ROUNDS = 4;
  const CONFIRM_ROUNDS = 8;
  const RATIO = 1.1;
  const MIN_DIFF_MS = 5;

  // What each measure is called, and how a better sample is said to be better.
  const MEASURES = {
    wall: { name: "wall time", better: (ratio, best, worst) => `${best} was ${ratio}× faster than ${worst}` },
    first_byte: {
      name: "time to first byte",
      better: (ratio, best, worst) => `${best}'s first byte came ${ratio}× sooner than ${worst}'s`,
    },
    loop_lag: {
      name: "worst event-loop lag",
      better: (ratio, best, worst) => `${worst} held up the event loop ${ratio}× as long as ${best}`,
    },
  };

  function median(values) {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }

  const ms = (value) =>
    `${value === 0 ? "0" : value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString("en")} ms`;

  // The larger median over the smaller; a 0 ms median counts as 0.1 ms.
  const ratioOf = (one, other) => Math.max(one, other) / Math.max(Math.min(one, other), 0.1);

  // Compare the samples of `view` with those of `base`, round by round (lower is better).
  function decide(base, view, measureName = "wall") {
    const measure = MEASURES[measureName];
    const rounds = Math.min(base.samples.length, view.samples.length);
    const [a, b] = [base, view].map((side) => {
      const samples = side.samples.slice(0, rounds);
      return { name: side.name, samples, median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
    });
    const ratio = ratioOf(a.median, b.median);
    const overlap = a.min <= b.max && b.min <= a.max;
    const [best, worst] = b.median < a.median ? [b, a] : [a, b];
    // The first batch of rounds and the rest, each judged on its own.
    const batches = [
      [0, FIRST_ROUNDS],
      [FIRST_ROUNDS, rounds],
    ].filter(([start, end]) => end - start >= FIRST_ROUNDS);
    const weakBatch = batches.find(([start, end]) => {
      const [bestPart, worstPart] = [best, worst].map((side) => median(side.samples.slice(start, end)));
      return !(worstPart >= bestPart * RATIO);
    });
    const facts = {
      measure: measureName,
      rounds: String(rounds),
      base: a.name,
      view: b.name,
      "base-median": a.median.toFixed(1),
      "base-min": a.min.toFixed(1),
      "base-max": a.max.toFixed(1),
      "view-median": b.median.toFixed(1),
      "view-min": b.min.toFixed(1),
      "view-max": b.max.toFixed(1),
      ratio: ratio.toFixed(2),
      overlap: String(overlap),
    };
    const spread = (side) => `${ms(side.median)} for ${side.name} (${ms(side.min)} to ${ms(side.max)})`;
    const detail = `median ${measure.name} ${spread(b)} and ${spread(a)}, over ${rounds} rounds`;
    const noise = (why) => ({
      call: "noise",
      facts: { ...facts, call: "noise" },
      text: `${b.name} and ${a.name}: within noise, run again: ${why}; ${detail}.`,
    });
    if (rounds < FIRST_ROUNDS) return noise(`${rounds} rounds are too few to tell`);
    if (overlap) return noise("the rounds' ranges overlap");
    if (ratio < RATIO) return noise(`the medians differ by less than ${RATIO}×`);
    if (worst.median - best.median < MIN_DIFF_MS) {
      return noise(`the medians differ by ${ms(worst.median - best.median)}, less than the ${MIN_DIFF_MS} ms a busy machine moves a batch by`);
    }
    if (weakBatch) {
      const [start, end] = weakBatch;
      return noise(`in rounds ${start + 1} to ${end} alone the medians differ by less than ${RATIO}×`);
    }
    if (rounds < CONFIRM_ROUNDS) {
      return {
        call: "more",
        facts: { ...facts, call: "more" },
        text: `${best.name} looks better after ${rounds} rounds, not yet confirmed: ${CONFIRM_ROUNDS - rounds} more rounds decide; ${detail}.`,
      };
    }
    return {
      call: best === b ? "faster" : "slower",
      facts: { ...facts, call: best === b ? "faster" : "slower" },
      text:
        `${measure.better(ratio.toFixed(1), best.name, worst.name)}: each of ${best.name}'s ${rounds} rounds beat ` +
        `every round of ${worst.name}; ${detail}.`,
    };
  }

  return { FIRST_ROUNDS, CONFIRM_ROUNDS, RATIO, MIN_DIFF_MS, MEASURES, decide, median, ms };
})();

if (typeof module !== "undefined") module.exports = labVerdict;
