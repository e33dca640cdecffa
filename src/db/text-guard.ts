import {
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type PrimitiveValueListNode,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  type ValueNode,
} from 'kysely';
import { AppError } from '../errors.ts';

function check(value: unknown): void {
  if (typeof value === 'string' && value.includes('\u0000')) {
    throw new AppError('invalid_request', 'Text must not contain NUL (\\u0000) characters');
  }
}

class NulTextCheck extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    check(node.value);
    return super.transformValue(node);
  }

  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    for (const v of node.values) check(v);
    return super.transformPrimitiveValueList(node);
  }
}

/**
 * PostgreSQL's text cannot hold NUL, and its error for one is a 500, not the caller's
 * mistake; SQLite stores it. So on both backends a query whose text parameter holds a NUL
 * (a session name, a workspace, a key) is refused before it runs, as `invalid_request`:
 * the same answer whichever store is configured, and nothing changed. JSON columns are
 * unaffected: JSON.stringify escapes NUL.
 */
export class RejectNulText implements KyselyPlugin {
  readonly #check = new NulTextCheck();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#check.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
