import {
  type DataTypeNode,
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';

class IntegerToBigint extends OperationNodeTransformer {
  protected override transformDataType(node: DataTypeNode): DataTypeNode {
    return node.dataType === 'integer' ? { ...node, dataType: 'bigint' } : super.transformDataType(node);
  }
}

/**
 * For migrations on PostgreSQL: a column a migration declares `integer` becomes `bigint`,
 * so `integer` means what it means on SQLite (64-bit) and a migration written with
 * `'integer'` for epoch milliseconds (which overflow PostgreSQL's 32-bit integer) is still
 * right there. Only the schema builder's types are rewritten, not raw `sql` DDL; new
 * migrations say `timestampType(db)` anyway (see migrations/index.ts).
 */
export class WideIntegers implements KyselyPlugin {
  readonly #transformer = new IntegerToBigint();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
