//! The batch-local ledger against the database ledger: the same commands,
//! the same accept/refuse decisions and the same stored balances.

use domain::fund::Fund;
use domain::money::{Account, Movement};
use domain::values::Fen;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use super::batch_money::BatchMoney;
use super::money::{self, MoneyError, BALANCES};

async fn database() -> SqlitePool {
    let options = SqliteConnectOptions::new().in_memory(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .connect_with(options)
        .await
        .expect("in-memory database");
    sqlx::migrate!("./migrations/sqlite")
        .run(&pool)
        .await
        .expect("migrations");
    pool
}

fn fen(amount: i64) -> Fen {
    Fen::new(amount).expect("amount")
}

fn credit(account: Account, amount: i64) -> Movement {
    Movement::Credit {
        account,
        amount_fen: fen(amount),
    }
}

fn debit(account: Account, amount: i64) -> Movement {
    Movement::Debit {
        account,
        amount_fen: fen(amount),
    }
}

fn cap(plan: &str, member: &str) -> Account {
    Account::MemberCap {
        plan_id: plan.into(),
        member: member.into(),
    }
}

/// Commands touching shared accounts: credits, debits that fit and debits
/// that do not, a cap declared and then used up, a measure's fund declared
/// and then credited, two accounts in one command where the second refuses.
fn commands() -> Vec<Vec<Movement>> {
    let festival = || Account::Fund(Fund::Festival);
    let measure = || Account::Measure {
        file_id: "HF-1".into(),
        measure_id: "M1".into(),
    };
    let mut commands = vec![
        vec![credit(festival(), 1_000)],
        vec![Movement::Cap {
            plan_id: "P7".into(),
            cap_fen: fen(500),
        }],
        vec![Movement::MeasureFund {
            file_id: "HF-1".into(),
            measure_id: "M1".into(),
            fund: Fund::MutualAid,
        }],
        vec![credit(measure(), 300)],
        // Refused by the cap after the fund's debit passed: neither stays.
        vec![debit(festival(), 200), debit(cap("P7", "m1"), 600)],
        // Nothing moves, but the account is opened at the cap.
        vec![credit(cap("P7", "m2"), 0)],
    ];
    for i in 0..12 {
        commands.push(vec![debit(festival(), 150), debit(cap("P7", "m1"), 100)]);
        if i % 4 == 3 {
            commands.push(vec![Movement::Cap {
                plan_id: "P7".into(),
                cap_fen: fen(250),
            }]);
            commands.push(vec![debit(cap("P7", &format!("n{i}")), 200)]);
        }
    }
    commands.push(vec![debit(Account::Fund(Fund::MutualAid), 301)]);
    commands.push(vec![debit(Account::Fund(Fund::MutualAid), 300)]);
    commands
}

/// `Ok` or the refusal's (kind, available, asked).
type Decision = Result<(), (String, i64, i64)>;

fn decision(result: Result<(), MoneyError>) -> Decision {
    match result {
        Ok(()) => Ok(()),
        Err(MoneyError::Refused(r)) => Err((r.account.kind().into(), r.available_fen, r.asked_fen)),
        Err(other) => panic!("unexpected: {other}"),
    }
}

async fn balances(pool: &SqlitePool) -> Vec<(String, String, i64)> {
    sqlx::query_as(BALANCES).fetch_all(pool).await.unwrap()
}

#[tokio::test]
async fn the_batch_ledger_decides_and_stores_as_the_database_ledger_does() {
    // Each command in its own savepoint on the database, as the writer's
    // slow path runs it.
    let direct = database().await;
    let mut conn = direct.acquire().await.unwrap();
    let mut expected = Vec::new();
    for movements in commands() {
        sqlx::query("SAVEPOINT c")
            .execute(&mut *conn)
            .await
            .unwrap();
        let result = money::apply(&mut *conn, &movements, true).await;
        let undo = if result.is_ok() {
            "RELEASE c"
        } else {
            "ROLLBACK TO c; RELEASE c"
        };
        sqlx::raw_sql(undo).execute(&mut *conn).await.unwrap();
        expected.push(decision(result));
    }
    drop(conn);

    // All of them in one batch, written back once.
    let batched = database().await;
    let mut conn = batched.acquire().await.unwrap();
    let mut batch = BatchMoney::default();
    let mut decided = Vec::new();
    for movements in commands() {
        decided.push(decision(batch.check(&mut conn, &movements).await));
    }
    // Nothing reaches the database before the write-back.
    drop(conn);
    assert!(balances(&batched).await.is_empty());
    let mut conn = batched.acquire().await.unwrap();
    batch.write_back(&mut conn).await.unwrap();
    drop(conn);

    assert_eq!(decided, expected);
    assert!(expected.iter().filter(|d| d.is_err()).count() >= 5);
    assert_eq!(balances(&batched).await, balances(&direct).await);
    let caps: Vec<(String, i64)> = sqlx::query_as("SELECT plan_id, cap_fen FROM money_caps")
        .fetch_all(&batched)
        .await
        .unwrap();
    assert_eq!(caps, vec![("P7".to_string(), 250)]);
}

#[tokio::test]
async fn a_batch_continues_from_what_an_earlier_batch_wrote() {
    let pool = database().await;
    let festival = Account::Fund(Fund::Festival);
    let mut conn = pool.acquire().await.unwrap();
    let mut first = BatchMoney::default();
    first
        .check(&mut conn, &[credit(festival.clone(), 500)])
        .await
        .unwrap();
    first.write_back(&mut conn).await.unwrap();

    let mut second = BatchMoney::default();
    let refused = second
        .check(&mut conn, &[debit(festival.clone(), 501)])
        .await;
    assert_eq!(
        decision(refused),
        Err(("fund".to_string(), 500, 501)),
        "the second batch reads the first one's balance"
    );
    second
        .check(&mut conn, &[debit(festival, 500)])
        .await
        .unwrap();
    second.write_back(&mut conn).await.unwrap();
    drop(conn);
    assert_eq!(
        balances(&pool).await,
        vec![("fund".to_string(), "festival".to_string(), 0)]
    );
}

#[tokio::test]
async fn an_overflowing_credit_is_an_error_not_a_number() {
    let pool = database().await;
    // A balance only an imported history could leave.
    sqlx::query(
        "INSERT INTO money_accounts (kind, key, balance_fen) VALUES ('fund', 'festival', $1)",
    )
    .bind(i64::MAX - 10)
    .execute(&pool)
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let mut batch = BatchMoney::default();
    let festival = Account::Fund(Fund::Festival);
    batch
        .check(&mut conn, &[credit(festival.clone(), 10)])
        .await
        .unwrap();
    let overflow = batch.check(&mut conn, &[credit(festival.clone(), 1)]).await;
    assert!(matches!(overflow, Err(MoneyError::Overflow(ref a)) if *a == festival));
    batch.write_back(&mut conn).await.unwrap();
    drop(conn);
    assert_eq!(
        balances(&pool).await,
        vec![("fund".to_string(), "festival".to_string(), i64::MAX)]
    );
}
