// A core page as a GraphQL connection, optionally mapping its nodes to their API shape.
import type { Page } from '../core/flow-reads.js';

export function connection<T, R = T>(page: Page<T>, map: (node: T) => R = (node) => node as unknown as R) {
  return { nodes: page.nodes.map(map), pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage } };
}
