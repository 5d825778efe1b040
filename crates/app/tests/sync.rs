//! The app's sync runs itself and never stands in the window's way: a
//! change goes to the server without anyone pressing "Sync now", a server
//! that is away is retried on a growing backoff, and while a sync waits on
//! a slow server, saving a contact answers at once. Real parts: encrypted
//! profiles, the real server over a throwaway PostgreSQL, and a proxy in
//! front of it that holds every answer back for seconds.

crm_plugins::counting_allocator!();

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_app::dto::*;
use crm_app::App;
use crm_sync_server::auth::Role;
use crm_sync_testkit::{Throwaway, PASSWORD};

const PASS: &str = "a long enough passphrase";
const DELAY: Duration = Duration::from_secs(3);

/// Forward each connection to `target` after holding it back for `DELAY`.
async fn slow_proxy(target: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                tokio::time::sleep(DELAY).await;
                if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    addr
}

fn form(first: &str, email: &str) -> ContactForm {
    ContactForm {
        first_name: first.into(),
        emails: vec![email.into()],
        ..Default::default()
    }
}

#[test]
fn saving_a_contact_answers_at_once_while_a_sync_waits_on_a_slow_server() {
    let server = Throwaway::start().expect("server");
    server
        .tenant("Acme", &[("a@acme.test", Role::Admin, None)])
        .expect("tenant");
    let proxy = server.rt.block_on(slow_proxy(server.addr()));
    let dir = tempfile::tempdir().expect("tmp");
    let app = Arc::new(App::new(dir.path().join("profile")));
    app.profile_create(Some(PASS.into()), "GB")
        .expect("profile");
    app.sync_login(LoginArgs {
        server: format!("http://{proxy}"),
        email: "a@acme.test".into(),
        password: PASSWORD.into(),
        new_password: None,
    })
    .expect("sign in (slowly)");
    app.contact_create(form("Ann", "ann@example.com"))
        .expect("contact");

    let syncing = {
        let app = app.clone();
        std::thread::spawn(move || app.sync_now())
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(!syncing.is_finished(), "the sync is waiting on the server");
    let started = Instant::now();
    app.contact_create(form("Bob", "bob@example.com"))
        .expect("saved during the sync");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "saving waited {took:?} for the sync"
    );
    assert!(
        !syncing.is_finished(),
        "the save did not wait for it to end"
    );
    let first = syncing.join().expect("thread").expect("the sync");
    // What was saved meanwhile goes with this sync (it pushes until the
    // queue is empty) or the next; nothing is left behind or sent twice.
    let second = app.sync_now().expect("second sync");
    assert_eq!(first.pushed + second.pushed, 2, "{first:?} {second:?}");
    assert_eq!(app.sync_status().expect("status").pending, 0);
}

/// A local change reaches the server on its own (the shell asks
/// `sync_auto` every quarter second; here the test does), another device
/// sees it, and a server that went away is retried on a backoff, not at
/// every call, with the frame saying so.
#[test]
fn a_change_syncs_by_itself_and_a_lost_server_is_retried_on_a_backoff() {
    let mut server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme",
            &[
                ("a@acme.test", Role::Admin, None),
                ("b@acme.test", Role::Admin, None),
            ],
        )
        .expect("tenant");
    let url = server.url();
    let dir = tempfile::tempdir().expect("tmp");
    let app = |name: &str, email: &str| {
        let app = App::new(dir.path().join(name));
        app.profile_create(Some(PASS.into()), "GB")
            .expect("profile");
        assert_eq!(app.sync_auto().expect("auto").state, "off", "not signed in");
        app.sync_login(LoginArgs {
            server: url.clone(),
            email: email.into(),
            password: PASSWORD.into(),
            new_password: None,
        })
        .expect("sign in");
        app
    };
    let a = app("a", "a@acme.test");
    let b = app("b", "b@acme.test");
    // Both sync on start.
    for x in [&a, &b] {
        assert_eq!(x.sync_auto().expect("auto").state, "synced");
    }
    let made = a
        .contact_create(form("Ann", "ann@example.com"))
        .expect("contact");
    // At once: not yet (a burst of edits goes together).
    assert_eq!(a.sync_auto().expect("auto").state, "waiting");
    let started = Instant::now();
    let mut state = a.sync_auto().expect("auto");
    while state.state != "synced" && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
        state = a.sync_auto().expect("auto");
    }
    assert_eq!(
        (state.state.as_str(), state.pending),
        ("synced", 0),
        "{state:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // B's periodic sync is a minute away; "Sync now" brings it at once.
    b.sync_now().expect("sync");
    assert!(
        b.contact_detail(&made.id).is_ok(),
        "the other device has it"
    );

    // The server goes away: one try, then a backoff the frame shows.
    server.stop();
    a.contact_create(form("Bob", "bob@example.com"))
        .expect("saved offline");
    std::thread::sleep(Duration::from_millis(600));
    let state = a.sync_auto().expect("auto");
    assert_eq!(state.state, "offline", "{state:?}");
    assert_eq!(state.pending, 1);
    let retry = state.retry_in_s.expect("a retry is planned");
    assert!(retry >= 1, "{state:?}");
    let last = state.last_success.clone();
    // Asked again at once: no new try (the backoff holds), same answer.
    let again = a.sync_auto().expect("auto");
    assert_eq!(again.state, "offline");
    assert_eq!(again.last_success, last);
    assert!(again.retry_in_s.is_some_and(|s| s <= retry));
}

/// A signed-in app on its own profile.
fn signed_in(server: &Throwaway, dir: &std::path::Path, email: &str) -> App {
    let app = App::new(dir.join(email));
    app.profile_create(Some(PASS.into()), "GB")
        .expect("profile");
    app.sync_login(LoginArgs {
        server: server.url(),
        email: email.into(),
        password: PASSWORD.into(),
        new_password: None,
    })
    .expect("sign in");
    app
}

/// Only the named fields of a contact change.
fn only(field: &str, value: &str) -> ContactForm {
    let mut form = ContactForm {
        changed: Some(vec![field.to_string()]),
        ..Default::default()
    };
    match field {
        "owner" => form.owner = value.into(),
        other => {
            form.details.insert(other.into(), value.into());
        }
    }
    form
}

/// An edit the server refuses (the contact was given to another team
/// meanwhile) is set aside and shown with the server's reason and its
/// values; sent again once the contact is back, it lands; given up, it is
/// gone for good.
#[test]
fn a_refused_change_is_shown_sent_again_or_given_up() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme",
            &[
                ("boss@acme.test", Role::Admin, None),
                ("red@acme.test", Role::Agent, Some("red")),
                ("blue@acme.test", Role::Agent, Some("blue")),
            ],
        )
        .expect("tenant");
    let dir = tempfile::tempdir().expect("tmp");
    let red = signed_in(&server, dir.path(), "red@acme.test");
    let boss = signed_in(&server, dir.path(), "boss@acme.test");
    let ann = red
        .contact_create(form("Ann", "ann@example.com"))
        .expect("contact")
        .id;
    red.sync_now().expect("sync");
    boss.sync_now().expect("sync");

    // The admin gives Ann to the blue team; red edits her before hearing.
    boss.contact_update(&ann, only("owner", "blue@acme.test"))
        .expect("reassign");
    boss.sync_now().expect("sync");
    red.contact_update(&ann, only("city", "York"))
        .expect("edit");
    let report = red.sync_now().expect("sync");
    assert_eq!(report.quarantined, 1, "the server refused the edit");
    assert_eq!(red.sync_state().expect("state").set_aside, 1);
    let listed = red.sync_set_aside().expect("list");
    assert_eq!(listed.len(), 1);
    let refused = &listed[0];
    assert_eq!(refused.what, "contact");
    assert_eq!(refused.row_id, ann);
    assert!(refused.reason.contains("not_visible"), "{}", refused.reason);
    assert!(
        refused.fields.iter().any(|f| f == "city: York"),
        "{:?}",
        refused.fields
    );

    // Ann comes back to red; the change is sent again and lands.
    boss.contact_update(&ann, only("owner", "red@acme.test"))
        .expect("give back");
    boss.sync_now().expect("sync");
    red.sync_retry(&refused.op_id).expect("retry");
    assert!(red.sync_set_aside().expect("list").is_empty());
    let report = red.sync_now().expect("sync");
    assert_eq!(report.quarantined, 0);
    boss.sync_now().expect("sync");
    let at_boss = boss.contact_detail(&ann).expect("detail");
    assert_eq!(
        at_boss.contact.details.get("city").map(String::as_str),
        Some("York")
    );

    // Refused again, then given up: gone, and nothing more is sent.
    boss.contact_update(&ann, only("owner", "blue@acme.test"))
        .expect("reassign");
    boss.sync_now().expect("sync");
    red.contact_update(&ann, only("city", "Hull"))
        .expect("edit");
    assert_eq!(red.sync_now().expect("sync").quarantined, 1);
    let op = red.sync_set_aside().expect("list")[0].op_id.clone();
    red.sync_discard(&op).expect("discard");
    assert!(red.sync_set_aside().expect("list").is_empty());
    assert_eq!(red.sync_status().expect("status").quarantined, 0);
    assert_eq!(red.sync_now().expect("sync").pushed, 0);
    assert!(matches!(
        red.sync_discard(&op).map_err(|e| e.code),
        Err(crm_app::ErrorCode::NotFound)
    ));
}

/// A contact's history says who changed it: a colleague by email and the
/// device they used, the same person on another device as "you on …",
/// and this device's own changes as "you", each with the fields it
/// changed, before and after.
#[test]
fn a_contacts_history_names_the_colleague_and_device_behind_each_change() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme",
            &[
                ("sam@acme.test", Role::Agent, Some("north")),
                ("kim@acme.test", Role::Agent, Some("north")),
            ],
        )
        .expect("tenant");
    let dir = tempfile::tempdir().expect("tmp");
    let sam = signed_in(&server, dir.path(), "sam@acme.test");
    let kim = signed_in(&server, dir.path(), "kim@acme.test");
    let kim_again = App::new(dir.path().join("kim-laptop"));
    kim_again
        .profile_create(Some(PASS.into()), "GB")
        .expect("profile");
    kim_again
        .sync_login(LoginArgs {
            server: server.url(),
            email: "kim@acme.test".into(),
            password: PASSWORD.into(),
            new_password: None,
        })
        .expect("sign in");

    let ann = sam
        .contact_create(form("Ann", "ann@example.com"))
        .expect("contact")
        .id;
    sam.contact_update(&ann, only("city", "York"))
        .expect("edit");
    sam.sync_now().expect("sync");
    kim.sync_now().expect("sync");
    kim.contact_update(&ann, only("city", "Leeds"))
        .expect("edit");
    kim.sync_now().expect("sync");
    kim_again.sync_now().expect("sync");
    kim_again
        .contact_update(&ann, only("job_title", "Broker"))
        .expect("edit");
    kim_again.sync_now().expect("sync");
    sam.sync_now().expect("sync");
    kim.sync_now().expect("sync");

    let device = crm_sync_client::device_name();
    let at_sam = sam.contact_history(&ann).expect("history");
    let whos: Vec<&str> = at_sam.iter().map(|e| e.who.as_str()).collect();
    assert_eq!(
        whos,
        [
            format!("kim@acme.test on {device}").as_str(),
            format!("kim@acme.test on {device}").as_str(),
            "you",
            "you"
        ],
        "newest first: {at_sam:?}"
    );
    let leeds = &at_sam[1];
    assert_eq!(leeds.action, crm_app::history::HistoryAction::Updated);
    assert_eq!(leeds.changes.len(), 1, "{leeds:?}");
    let city = &leeds.changes[0];
    assert_eq!(
        (
            city.label.as_str(),
            city.before.as_deref(),
            city.after.as_deref()
        ),
        ("City", Some("York"), Some("Leeds"))
    );
    assert_eq!(at_sam[0].changes[0].label, "Job title");
    assert_eq!(at_sam[3].action, crm_app::history::HistoryAction::Created);
    assert!(at_sam[3]
        .changes
        .iter()
        .any(|c| c.field == "first_name" && c.after.as_deref() == Some("Ann")));

    // Kim's first device: their own edit is "you", the laptop's is
    // "you on …", Sam's are Sam's.
    let at_kim = kim.contact_history(&ann).expect("history");
    let whos: Vec<&str> = at_kim.iter().map(|e| e.who.as_str()).collect();
    assert_eq!(
        whos,
        [
            format!("you on {device}").as_str(),
            "you",
            format!("sam@acme.test on {device}").as_str(),
        ],
        "Sam's creation and first edit arrived here as one row: {at_kim:?}"
    );
    // Another contact's id, or none at all, is refused plainly.
    assert!(sam.contact_history("not an id").is_err());
}

/// Edits that never pause (a plugin's steady updates, someone typing on
/// and on) still leave within seconds: the debounce waits for a quiet
/// half second, but never more than a few seconds after the first
/// change.
#[test]
fn a_steady_stream_of_edits_is_sent_within_seconds_not_when_it_stops() {
    let server = Throwaway::start().expect("server");
    let tenant = server
        .tenant("Acme", &[("a@acme.test", Role::Admin, None)])
        .expect("tenant");
    let on_server = |id: &str| -> bool {
        let id = uuid::Uuid::parse_str(id).expect("id");
        server.rt.block_on(async {
            let mut tx = crm_sync_server::db::tenant_tx(&server.owner, tenant)
                .await
                .expect("tx");
            crm_sync_server::sql::query_as::<_, (i64,)>("SELECT count(*) FROM rows WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .expect("count")
                .0
                > 0
        })
    };
    let dir = tempfile::tempdir().expect("tmp");
    let app = Arc::new(signed_in(&server, dir.path(), "a@acme.test"));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (a, s) = (app.clone(), stop.clone());
    let auto = std::thread::spawn(move || {
        while !s.load(std::sync::atomic::Ordering::SeqCst) {
            a.wait_for_sync(Duration::from_millis(50));
            let _ = a.sync_auto();
        }
    });
    // The thread stops however the test ends.
    struct Stop(Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let _stop = Stop(stop.clone());
    // The sync on start is over, and the automatic sync has taken it in.
    let started = Instant::now();
    while app.sync_state().expect("state").last_success.is_none()
        || app.sync_state().expect("state").state != "synced"
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never synced on start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let made = app
        .contact_create(form("Ann", "ann@example.com"))
        .expect("contact");
    let first = Instant::now();
    let mut n = 0;
    let sent_after = loop {
        n += 1;
        app.contact_update(&made.id, only("city", &format!("City {n}")))
            .expect("edit");
        if on_server(&made.id) {
            break first.elapsed();
        }
        assert!(
            first.elapsed() < Duration::from_secs(8),
            "nothing was sent while the edits went on"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(_stop);
    let _ = auto.join();
    assert!(
        sent_after >= Duration::from_millis(2_500) && sent_after < Duration::from_millis(6_000),
        "sent {sent_after:?} after the first of {n} edits"
    );
}

/// The Studio's "Run for real" runs code nobody reviewed with the
/// permissions its manifest names: an agent may try it on a copy, only an
/// admin may run it on the profile.
#[test]
fn only_an_admin_runs_studio_code_for_real() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme",
            &[
                ("sam@acme.test", Role::Agent, Some("north")),
                ("ada@acme.test", Role::Admin, None),
            ],
        )
        .expect("tenant");
    let dir = tempfile::tempdir().expect("tmp");
    let manifest = r#"{"id": "local.tagger", "name": "Tagger", "version": "0.1.0", "api_version": "^1",
        "author": "Us", "description": "Tags.", "permissions": ["contacts:read", "contacts:write"],
        "actions": [{"id": "tag", "label": "Tag", "target": "contact", "function": "tag"}]}"#;
    let script = "fn tag(id) { contacts::update(id, #{ tags: [\"x\"] }); }\n";
    for (email, allowed) in [("sam@acme.test", false), ("ada@acme.test", true)] {
        let app = signed_in(&server, dir.path(), email);
        let ann = app
            .contact_create(form("Ann", "ann@example.com"))
            .expect("contact")
            .id;
        let mut args = crm_app::studio_console::ConsoleRunArgs {
            manifest: manifest.into(),
            script: script.into(),
            action: Some("tag".into()),
            record: Some(ann.clone()),
            ..Default::default()
        };
        let dry = app.studio_console(args.clone()).expect("a dry run");
        assert!(dry.ok, "{email}: {:?}", dry.error);
        args.for_real = true;
        let real = app.studio_console(args);
        assert_eq!(real.is_ok(), allowed, "{email}: {:?}", real.as_ref().err());
        if let Err(e) = real {
            assert_eq!(e.code, crm_app::ErrorCode::Forbidden);
            assert!(e.message.contains("admin"), "{}", e.message);
        }
        let tags = app.contact_detail(&ann).expect("detail").contact.tags;
        assert_eq!(tags.is_empty(), !allowed, "{email}: {tags:?}");
    }
}
