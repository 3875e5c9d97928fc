import { commitMessageValidator } from './validators/commitMessage';
import { planValidator } from './validators/plan';
import { nonEmpty, type Validator } from './validators/verdict';
import type { TaskKind } from './tiers';

/** How a task's answer is checked when the caller has no richer context (the CLI), and whether it is JSON. */
export interface TaskCheck {
  validator: Validator;
  json: boolean;
}

export function checkFor(task: TaskKind): TaskCheck {
  switch (task) {
    case 'commitMessage':
      return { validator: commitMessageValidator({ conventional: false }), json: false };
    case 'plan':
      return { validator: planValidator, json: true };
    default:
      return { validator: nonEmpty, json: false };
  }
}

/** The default check for each task kind (see checkFor). */
export function validatorFor(task: TaskKind): Validator {
  return checkFor(task).validator;
}
