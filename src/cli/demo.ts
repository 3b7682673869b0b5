export async function runDemo(_c: unknown): Promise<void> { throw new Error("todo"); }
