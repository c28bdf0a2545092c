/**
 * The dates of a year's old cron-script header dumps of one device (June to November 2026,
 * 19 files) imported together on IMPORTED_AT, and the time the retention tests judge them at:
 * shared by the pure policy test and the one over the ingest protocol.
 */
export const IMPORTED_AT = new Date('2026-12-01T11:13:00Z');
export const JUDGED_AT = new Date('2026-12-10T12:00:00Z');
export const BACKUP_DATES = ['06-05', '06-10', '06-16', '06-17', '06-28', '07-09', '07-20', '07-31', '08-11', '08-22']
  .concat(['09-02', '09-13', '09-24', '10-05', '10-16', '10-27', '11-07', '11-18', '11-30'])
  .map((d) => `2026-${d}`);
