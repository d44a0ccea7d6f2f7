// Where runs leave their files by default, relative to the working directory. One place, so `repro`, `matrix`,
// `runs`, `dashboard` and docker-compose agree.

/** The results database every run is stored in (lab/results-db.ts). */
export const DEFAULT_RESULTS_DB = 'captures/results.sqlite';

/** Parent folder of each run's own folder (capture, trace, netem events, journal). */
export const DEFAULT_RUNS_DIR = 'captures/runs';
