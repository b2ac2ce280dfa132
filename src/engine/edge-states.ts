// Where each edge of one run stands (semantics §2, §5): not yet delivered, delivered with the value it
// carries, or dead (its source failed, produced nothing, or a decision blocked its branch). Typed arrays
// indexed by `edge.index` keep this allocation-free on the per-node hot path.
import type { Json, PortValues } from '../../workers/node-contract.js';
import type { GraphEdge } from './graph.js';

const undelivered = 0;
const delivered = 1;
const dead = 2;

/** The delivery state and carried value of every edge of one run. */
export class EdgeStates {
  private readonly state: Uint8Array;
  private readonly value: Array<Json | undefined>;

  constructor(edgeCount: number) {
    this.state = new Uint8Array(edgeCount);
    this.value = new Array(edgeCount);
  }

  /** True when the edge carried a value in the current pass. */
  isDelivered(edge: GraphEdge): boolean {
    return this.state[edge.index] === delivered;
  }

  /** True while the edge has neither delivered nor died in the current pass. */
  isUndelivered(edge: GraphEdge): boolean {
    return this.state[edge.index] === undelivered;
  }

  /** Delivers the source's value for this edge's port. */
  deliver(edge: GraphEdge, outputs: PortValues): void {
    this.state[edge.index] = delivered;
    this.value[edge.index] = portValue(outputs, edge.sourcePort);
  }

  /** Marks the edge dead: its target sees no value from it. */
  kill(edge: GraphEdge): void {
    this.state[edge.index] = dead;
  }

  /** Makes the edge deliverable again (a loop's next pass); the old value is unread until it delivers anew. */
  reset(edge: GraphEdge): void {
    this.state[edge.index] = undelivered;
  }

  /** The value a delivered edge carries (null when the source's port had none). */
  valueOf(edge: GraphEdge): Json {
    return this.value[edge.index] ?? null;
  }
}

/** The value a connection carries: the named port, or a lone output when the port is the generic `output`. */
function portValue(outputs: PortValues, port: string): Json {
  if (port in outputs) return outputs[port]!;
  const ports = Object.keys(outputs);
  return ports.length === 1 && port === 'output' ? outputs[ports[0]!]! : null;
}
