// managers.js: the registry module (the server worker loads it too).
const { BaseManager } = require('@managers/core');
const { BaseProxy, transfer } = require('@managers/proxy');

class Counter {
  value = 0;
  increment(by = 1) {
    return (this.value += by);
  }
  slow(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
  fill(buffer, byte) {
    new Uint8Array(buffer).fill(byte);
    return transfer(buffer); // moved back, not copied
  }
}

/** A custom proxy class: its methods call the hosted object with callMethod(). */
class CounterProxy extends BaseProxy {
  increment(by = 1) {
    return this.callMethod('increment', [by]);
  }
  async double() {
    const value = await this.callMethod('increment', [0]);
    return this.callMethod('increment', [value]);
  }
}

const ProxyManager = BaseManager.register('Counter', { callable: Counter }).register(
  'FancyCounter',
  { callable: Counter, proxytype: CounterProxy },
);

module.exports = { Counter, CounterProxy, ProxyManager };
