import { commitMessageValidator } from './validators/commitMessage';
import { nonEmpty, type Validator } from './validators/verdict';
import type { TaskKind } from './tiers';

/** The default check for each task kind when the caller has no richer context (the CLI). */
export function validatorFor(task: TaskKind): Validator {
  switch (task) {
    case 'commitMessage':
      return commitMessageValidator({ conventional: false });
    default:
      return nonEmpty;
  }
}
