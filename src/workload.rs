//! The DataFusion side of the lab: tables generated in memory, the named
//! queries, and planning and execution with the `datafusion-tracing`
//! instrumentation rule, which wraps every physical plan node in an
//! `InstrumentedExec` that owns one span.
//!
//! Everything is deterministic: the data is computed from row numbers, and
//! `target_partitions` is fixed, so a query has the same plan (and the same
//! number of node spans) on a laptop, in a container and in CI.

use std::sync::Arc;

use datafusion::{
    arrow::{
        array::{Float64Array, Int64Array, RecordBatch, StringArray},
        datatypes::{DataType, Field, Schema},
    },
    execution::{SessionStateBuilder, TaskContext},
    physical_plan::ExecutionPlan,
    prelude::{SessionConfig, SessionContext},
};
use datafusion_tracing::{InstrumentationOptions, instrument_with_info_spans};
use futures::{TryStreamExt, future::try_join_all};

use crate::config::{ConfigError, QuerySpec};

/// Partitions DataFusion plans for. Fixed rather than the number of cores:
/// the partition count decides where `RepartitionExec` nodes appear, hence
/// how many spans a plan has.
pub const TARGET_PARTITIONS: usize = 4;

/// A query the lab knows by name.
#[derive(Debug)]
pub struct NamedQuery {
    pub name: &'static str,
    /// One line for `drop-lab queries`.
    pub about: &'static str,
    pub sql: &'static str,
}

/// The named queries, smallest plan first.
pub static QUERIES: &[NamedQuery] = &[
    NamedQuery {
        name: "seed",
        about: "the original reproducer's filter + sum over my_table",
        sql: "SELECT sum(numeric_value) FROM my_table \
              WHERE filter_column_1 = 'filter_value_1' \
              AND filter_column_2 = 'filter_value_2'",
    },
    NamedQuery {
        name: "join",
        about: "orders joined to customers, grouped by region and segment, HAVING, top 10 by revenue",
        sql: "SELECT c.region, c.segment, count(*) AS orders, sum(o.amount) AS revenue, \
                count(DISTINCT o.day) AS active_days \
              FROM orders o JOIN customers c ON o.customer_id = c.customer_id \
              WHERE o.status = 'shipped' AND c.segment <> 'online' \
              GROUP BY c.region, c.segment \
              HAVING sum(o.amount) > 0 \
              ORDER BY revenue DESC \
              LIMIT 10",
    },
    NamedQuery {
        name: "report",
        about: "CTEs, three joins, window functions and a UNION ALL: a reporting query",
        sql: "WITH shipped AS ( \
                SELECT customer_id, day, amount FROM orders WHERE status = 'shipped' \
              ), returned AS ( \
                SELECT customer_id, day, amount FROM orders WHERE status = 'returned' \
              ), revenue AS ( \
                SELECT c.region, s.day, sum(s.amount) AS revenue \
                FROM shipped s JOIN customers c ON s.customer_id = c.customer_id \
                GROUP BY c.region, s.day \
              ), refunds AS ( \
                SELECT c.region, r.day, sum(r.amount) AS refunded \
                FROM returned r JOIN customers c ON r.customer_id = c.customer_id \
                GROUP BY c.region, r.day \
              ), daily AS ( \
                SELECT v.region, v.day, v.revenue, coalesce(f.refunded, 0) AS refunded \
                FROM revenue v LEFT JOIN refunds f ON v.region = f.region AND v.day = f.day \
              ) \
              SELECT region, day, revenue - refunded AS net, \
                rank() OVER (PARTITION BY region ORDER BY revenue - refunded DESC) AS rank_in_region, \
                sum(revenue) OVER (PARTITION BY region ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS revenue_7d \
              FROM daily \
              UNION ALL \
              SELECT c.segment AS region, -1 AS day, sum(o.amount) AS net, 0 AS rank_in_region, \
                max(o.amount) AS revenue_7d \
              FROM orders o JOIN customers c ON o.customer_id = c.customer_id \
              WHERE o.status <> 'returned' \
              GROUP BY c.segment \
              ORDER BY region, day",
    },
];

/// Looks a named query up.
pub fn find_query(name: &str) -> Option<&'static NamedQuery> {
    QUERIES.iter().find(|q| q.name == name)
}

/// Rows in the seed's `my_table`, as in the seed.
const SEED_ROWS: usize = 100_000;
const ORDERS: usize = 20_000;
const CUSTOMERS: usize = 500;

/// A session with the lab's tables and the instrumentation rule, and the
/// query to run in it.
pub struct Workload {
    ctx: SessionContext,
    query: QuerySpec,
}

impl Workload {
    pub fn new(query: QuerySpec) -> Result<Workload, anyhow::Error> {
        Self::with_preview(query, 0)
    }

    /// A workload whose node spans also record a preview of their first
    /// `preview_rows` output rows (datafusion-tracing's batch preview, a
    /// pretty-printed table in one span field): the way to make spans large.
    pub fn with_preview(query: QuerySpec, preview_rows: usize) -> Result<Workload, anyhow::Error> {
        // The seed's options: one span per node, with the node's metrics.
        let rule = instrument_with_info_spans!(
            options: InstrumentationOptions { record_metrics: true, preview_limit: preview_rows, ..Default::default() }
        );
        let state = SessionStateBuilder::new()
            .with_config(SessionConfig::new().with_target_partitions(TARGET_PARTITIONS))
            .with_default_features()
            .with_physical_optimizer_rule(rule)
            .build();
        let ctx = SessionContext::new_with_state(state);
        ctx.register_batch("my_table", seed_table())?;
        ctx.register_batch("orders", orders_table())?;
        ctx.register_batch("customers", customers_table())?;
        Ok(Workload { ctx, query })
    }

    pub fn query(&self) -> &QuerySpec {
        &self.query
    }

    /// Plans the query. A query that does not plan is bad input, blamed on
    /// `--sql` or `--query`.
    pub async fn plan(&self) -> Result<Arc<dyn ExecutionPlan>, ConfigError> {
        let flag = self.query.flag();
        let df = self
            .ctx
            .sql(self.query.sql())
            .await
            .map_err(|e| ConfigError::new(flag, one_line(&e.to_string())))?;
        df.create_physical_plan().await.map_err(|e| ConfigError::new(flag, one_line(&e.to_string())))
    }

    pub fn task_ctx(&self) -> Arc<TaskContext> {
        self.ctx.task_ctx()
    }
}

/// Runs every output partition of `plan` to completion, concurrently, as a
/// query engine's caller would, and returns the number of rows.
pub async fn execute(plan: Arc<dyn ExecutionPlan>, task_ctx: Arc<TaskContext>) -> anyhow::Result<usize> {
    let partitions = plan.properties().partitioning.partition_count();
    let streams = (0..partitions)
        .map(|p| plan.execute(p, task_ctx.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let counts = try_join_all(streams.into_iter().map(|stream| {
        stream.map_ok(|batch| batch.num_rows()).try_fold(0usize, |acc, n| async move { Ok(acc + n) })
    }))
    .await?;
    Ok(counts.into_iter().sum())
}

/// The number of nodes in a physical plan. The instrumentation rule wraps
/// every node, and an `InstrumentedExec` reports its inner node's children,
/// so this is also the number of `InstrumentedExec` spans the plan opens.
pub fn plan_nodes(plan: &Arc<dyn ExecutionPlan>) -> usize {
    1 + plan.children().into_iter().map(plan_nodes).sum::<usize>()
}

/// Planning errors from DataFusion span several lines; a report wants one.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The seed's table, row for row.
fn seed_table() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("numeric_value", DataType::Float64, false),
        Field::new("filter_column_1", DataType::Utf8, false),
        Field::new("filter_column_2", DataType::Utf8, false),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Float64Array::from(vec![1.0f64; SEED_ROWS])),
            Arc::new(StringArray::from(vec!["filter_value_1"; SEED_ROWS])),
            Arc::new(StringArray::from(vec!["filter_value_2"; SEED_ROWS])),
        ],
    )
    .expect("seed table schema matches its columns")
}

fn orders_table() -> RecordBatch {
    const STATUS: [&str; 3] = ["shipped", "pending", "returned"];
    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("day", DataType::Int64, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("status", DataType::Utf8, false),
    ]));
    let ids = 0..ORDERS as i64;
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(Int64Array::from_iter_values(ids.clone().map(|i| (i * 7919) % CUSTOMERS as i64))),
            Arc::new(Int64Array::from_iter_values(ids.clone().map(|i| i % 90))),
            Arc::new(Float64Array::from_iter_values(ids.clone().map(|i| ((i * 37) % 1000) as f64 / 10.0))),
            Arc::new(StringArray::from_iter_values(ids.map(|i| STATUS[(i % 7 % 3) as usize]))),
        ],
    )
    .expect("orders schema matches its columns")
}

fn customers_table() -> RecordBatch {
    const REGIONS: [&str; 4] = ["north", "south", "east", "west"];
    const SEGMENTS: [&str; 3] = ["retail", "wholesale", "online"];
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("region", DataType::Utf8, false),
        Field::new("segment", DataType::Utf8, false),
    ]));
    let ids = 0..CUSTOMERS as i64;
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(StringArray::from_iter_values(ids.clone().map(|i| REGIONS[(i % 4) as usize]))),
            Arc::new(StringArray::from_iter_values(ids.map(|i| SEGMENTS[(i % 3) as usize]))),
        ],
    )
    .expect("customers schema matches its columns")
}
