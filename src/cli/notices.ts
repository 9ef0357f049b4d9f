/** The one line said when `--spawner auto` cannot use its spawner and jobs start another way. */
export function spawnerFallbackNotice(why: string): string {
  return `the job spawner cannot run here (${why}); jobs start with node:child_process instead (--spawner child says so and skips this check)`;
}
