// main.js: AutoProxies, a custom proxy class, call options and transfer().
const { isManagerError, release } = require('@managers/core');
const { transfer, withCallOptions } = require('@managers/proxy');
const { ProxyManager } = require('./managers');

async function main() {
  const manager = await ProxyManager.start({ module: require.resolve('./managers') });
  try {
    const counter = await manager.Counter(); // an AutoProxy: exposed methods return Promises
    console.log('increment:', await counter.increment(2));
    console.log('proxy:', String(counter));

    const fancy = await manager.FancyCounter(); // the custom class
    await fancy.increment(3);
    console.log('double:', await fancy.double());

    // Call options: a timeout (or an AbortSignal) for every call of this view.
    const impatient = withCallOptions(counter, { timeout: 50 });
    try {
      await impatient.slow(1000);
    } catch (error) {
      console.log('timeout:', isManagerError(error, 'ERR_TIMEOUT'));
    }

    // A buffer marked with transfer() is moved to the server and back.
    const buffer = new ArrayBuffer(4);
    const filled = await counter.fill(transfer(buffer), 7);
    console.log('moved:', buffer.byteLength, 'filled:', [...new Uint8Array(filled)].join(','));

    release(counter); // or counter[Symbol.dispose](), or `using` in TypeScript
    fancy[Symbol.dispose]();
    console.log('objects left:', await manager.numberOfObjects());
  } finally {
    await manager.shutdown();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
