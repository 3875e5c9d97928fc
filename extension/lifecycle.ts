/** Anything that holds a resource until disposed (VS Code's Disposable has the same shape). */
export interface Disposable {
  dispose(): unknown;
}

export function disposeAll(disposables: Iterable<Disposable>): void {
  const errors: unknown[] = [];
  for (const disposable of disposables) {
    try {
      disposable.dispose();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'Several disposables failed to dispose');
}

/** Base class for owners of disposables: everything registered is disposed with the owner, newest first. */
export abstract class DisposableOwner implements Disposable {
  private readonly owned: Disposable[] = [];
  private disposed = false;

  protected register<T extends Disposable>(disposable: T): T {
    if (this.disposed) {
      disposable.dispose();
    } else {
      this.owned.push(disposable);
    }
    return disposable;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeAll(this.owned.splice(0).reverse());
  }
}
