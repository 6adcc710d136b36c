/** The pool task of the start-up measurement: answers at once. */
import { defineTask } from '@managers/piscina';

export default defineTask((value: number) => value + 1);
