//! Agents, Groups and their Inverse Functional Identifiers (Data 2.4.2), plus the Authority
//! rules (Data 2.4.9).

use serde_json::Value;

use super::common::{Props, expect_array, expect_object, fail, index, join, object_type, props};
use super::formats::{is_irl, is_mbox, is_sha1_hex, is_uri};
use crate::error::FieldError;

const IFIS: [&str; 4] = ["mbox", "mbox_sha1sum", "openid", "account"];
const AGENT: &[&str] = &[
    "objectType",
    "name",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
];
const GROUP: &[&str] = &[
    "objectType",
    "name",
    "member",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
];
const EXACTLY_ONE_IFI: &str = "exactly one of mbox, mbox_sha1sum, openid, account is required";

/// What an actor turned out to be, for callers with further rules (authority, team).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ActorKind {
    Agent,
    IdentifiedGroup,
    AnonymousGroup,
}

/// An Agent or a Group.
pub(super) fn actor(value: &Value, path: &str) -> Result<ActorKind, FieldError> {
    match object_type(expect_object(value, path)?, path)? {
        None | Some("Agent") => agent_body(value, path).map(|()| ActorKind::Agent),
        Some("Group") => group(value, path),
        Some(_) => fail(&join(path, "objectType"), "must be \"Agent\" or \"Group\""),
    }
}

/// An Agent only: Group members, and the `agent` parameter of the document resources.
pub(super) fn agent(value: &Value, path: &str) -> Result<(), FieldError> {
    match object_type(expect_object(value, path)?, path)? {
        None | Some("Agent") => agent_body(value, path),
        // Data 2.4.2.2.s4.b2, s5.b2: Groups cannot contain Groups.
        Some("Group") => fail(&join(path, "objectType"), "must be \"Agent\", not a Group"),
        Some(_) => fail(&join(path, "objectType"), "must be \"Agent\""),
    }
}

fn agent_body(value: &Value, path: &str) -> Result<(), FieldError> {
    let p = props(value, path, AGENT)?;
    p.string("name")?;
    // Data 2.4.2.1.s2.b1, b2: one identifier, no more, no less.
    if identifiers(&p)? != 1 {
        return fail(path, EXACTLY_ONE_IFI);
    }
    Ok(())
}

fn group(value: &Value, path: &str) -> Result<ActorKind, FieldError> {
    let p = props(value, path, GROUP)?;
    p.string("name")?;
    let identified = match identifiers(&p)? {
        0 => false,
        1 => true,
        _ => {
            return fail(
                path,
                "at most one of mbox, mbox_sha1sum, openid, account is allowed",
            );
        }
    };
    match p.get("member") {
        Some(members) => {
            let members_path = p.path("member");
            let members = expect_array(members, &members_path)?;
            // An anonymous Group is nothing but its members (Data 2.4.2.2.s4.b1).
            if members.is_empty() && !identified {
                return fail(&members_path, "must not be empty in an anonymous Group");
            }
            for (i, member) in members.iter().enumerate() {
                agent(member, &index(&members_path, i))?;
            }
        }
        None if !identified => return fail(&p.path("member"), "is required in an anonymous Group"),
        None => {}
    }
    Ok(if identified {
        ActorKind::IdentifiedGroup
    } else {
        ActorKind::AnonymousGroup
    })
}

/// Checks every identifier present and says how many there were.
fn identifiers(p: &Props) -> Result<usize, FieldError> {
    p.string_as(
        "mbox",
        is_mbox,
        "must be a \"mailto:\" IRI holding an email address",
    )?;
    p.string_as(
        "mbox_sha1sum",
        is_sha1_hex,
        "must be 40 hexadecimal characters",
    )?;
    p.string_as("openid", is_uri, "must be a URI")?;
    if let Some(account_value) = p.get("account") {
        account(account_value, &p.path("account"))?;
    }
    Ok(IFIS.iter().filter(|key| p.get(key).is_some()).count())
}

fn account(value: &Value, path: &str) -> Result<(), FieldError> {
    let p = props(value, path, &["homePage", "name"])?;
    p.require("homePage")?;
    p.string_as("homePage", is_irl, "must be an IRL")?;
    p.require("name")?;
    p.string("name")?;
    Ok(())
}

/// Data 2.4.9.s3.b1: an Agent, or in 3-legged OAuth a Group of exactly two Agents (consumer
/// and user). The conformance suite also refuses an identified Group here, since such a
/// Group would name neither party.
pub(super) fn authority(value: &Value, path: &str) -> Result<(), FieldError> {
    match actor(value, path)? {
        ActorKind::Agent => Ok(()),
        ActorKind::IdentifiedGroup => fail(
            path,
            "a Group authority must be anonymous (an OAuth consumer and a user as members)",
        ),
        ActorKind::AnonymousGroup => {
            let members = value.get("member").and_then(Value::as_array);
            if members.is_some_and(|m| m.len() == 2) {
                Ok(())
            } else {
                fail(
                    &join(path, "member"),
                    "must hold exactly two Agents in an authority",
                )
            }
        }
    }
}

/// See `validate::ifi`.
pub(super) fn ifi(value: &Value) -> Option<String> {
    let map = value.as_object()?;
    if !matches!(
        map.get("objectType").map(Value::as_str),
        None | Some(Some("Agent" | "Group"))
    ) {
        return None;
    }
    let mut present = IFIS.iter().filter(|key| map.contains_key(**key));
    let key = *present.next()?;
    if present.next().is_some() {
        return None;
    }
    let ifi_value = &map[key];
    match key {
        "mbox" => {
            let mbox = ifi_value.as_str().filter(|m| is_mbox(m))?;
            // The domain of an address is case-insensitive (Data 2.3.1.b7), the local part not.
            let (local, domain) = mbox.rsplit_once('@')?;
            Some(format!("mbox:{local}@{}", domain.to_lowercase()))
        }
        "mbox_sha1sum" => {
            let sum = ifi_value.as_str().filter(|s| is_sha1_hex(s))?;
            Some(format!("mbox_sha1sum:{}", sum.to_ascii_lowercase()))
        }
        "openid" => {
            let openid = ifi_value.as_str().filter(|s| is_uri(s))?;
            Some(format!("openid:{openid}"))
        }
        _ => {
            let account = ifi_value.as_object()?;
            let home_page = account.get("homePage")?.as_str().filter(|s| is_irl(s))?;
            let name = account.get("name")?.as_str()?;
            // IRIs cannot contain '|', so the first one always ends the homePage.
            Some(format!("account:{home_page}|{name}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::common::test_support::*;

    fn with_actor(actor: Value) -> Value {
        set(base(), "/actor", actor)
    }

    fn account() -> Value {
        json!({"homePage": "http://www.example.com", "name": "1625378"})
    }

    fn members() -> Value {
        json!([{"mbox": "mailto:a@example.com"}, {"objectType": "Agent", "openid": "http://openid.example.org/b"}])
    }

    #[test]
    fn agent_with_each_kind_of_identifier() {
        accepts(&with_actor(json!({"mbox": "mailto:xapi@adlnet.gov"})));
        accepts(&with_actor(
            json!({"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}),
        ));
        accepts(&with_actor(
            json!({"objectType": "Agent", "openid": "http://toby.openid.example.org/"}),
        ));
        accepts(&with_actor(json!({"name": "Opaque", "account": account()})));
    }

    #[test]
    fn agent_needs_exactly_one_identifier() {
        rejects(
            &with_actor(json!({"name": "Nobody"})),
            "actor",
            "exactly one of mbox",
        );
        let two = json!({"mbox": "mailto:a@example.com", "openid": "http://openid.example.org/a"});
        rejects(&with_actor(two), "actor", "exactly one of mbox");
        let two = json!({"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9", "account": account()});
        rejects(&with_actor(two), "actor", "exactly one of mbox");
    }

    #[test]
    fn mbox_is_a_mailto_iri_with_an_address() {
        let bad = [
            "http://should.fail.com",
            "mailto:should.fail.com",
            "MAILTO:a@example.com",
            "a@example.com",
            "mailto:a b@example.com",
            "mailto:@example.com",
            "",
        ];
        for mbox in bad {
            rejects(&with_actor(json!({"mbox": mbox})), "actor.mbox", "mailto:");
        }
        rejects(
            &with_actor(json!({"mbox": 42})),
            "actor.mbox",
            "must be a string",
        );
    }

    #[test]
    fn other_identifier_formats() {
        rejects(
            &with_actor(json!({"mbox_sha1sum": "ebd31e95"})),
            "actor.mbox_sha1sum",
            "40 hexadecimal",
        );
        rejects(
            &with_actor(json!({"mbox_sha1sum": "zbd31e95054c018b10727ccffd2ef2ec3a016ee9"})),
            "actor.mbox_sha1sum",
            "40 hexadecimal",
        );
        rejects(
            &with_actor(json!({"mbox_sha1sum": {"key": "value"}})),
            "actor.mbox_sha1sum",
            "must be a string",
        );
        rejects(
            &with_actor(json!({"openid": "ab=c://should.fail.com"})),
            "actor.openid",
            "must be a URI",
        );
        rejects(
            &with_actor(json!({"openid": "http://例え.jp/me"})),
            "actor.openid",
            "must be a URI",
        );
    }

    #[test]
    fn account_needs_home_page_and_name_only() {
        rejects(
            &with_actor(json!({"account": {"name": "x"}})),
            "actor.account.homePage",
            "is required",
        );
        rejects(
            &with_actor(json!({"account": {"homePage": "http://example.com"}})),
            "actor.account.name",
            "is required",
        );
        rejects(
            &with_actor(json!({"account": {"homePage": "ab=c://x", "name": "x"}})),
            "actor.account.homePage",
            "must be an IRL",
        );
        rejects(
            &with_actor(
                json!({"account": {"homePage": "http://example.com", "name": {"key": "x"}}}),
            ),
            "actor.account.name",
            "must be a string",
        );
        rejects(
            &with_actor(
                json!({"account": {"homePage": "http://example.com", "name": "x", "id": 1}}),
            ),
            "actor.account.id",
            "unknown property",
        );
        rejects(
            &with_actor(json!({"account": "x"})),
            "actor.account",
            "must be an object",
        );
    }

    #[test]
    fn agent_properties() {
        rejects(
            &with_actor(json!({"mbox": "mailto:a@example.com", "name": 5})),
            "actor.name",
            "must be a string",
        );
        rejects(
            &with_actor(json!({"mbox": "mailto:a@example.com", "member": []})),
            "actor.member",
            "unknown property",
        );
        rejects(
            &with_actor(json!({"objectType": "agent", "mbox": "mailto:a@example.com"})),
            "actor.objectType",
            "\"Agent\" or \"Group\"",
        );
        rejects(
            &with_actor(json!({"objectType": 1, "mbox": "mailto:a@example.com"})),
            "actor.objectType",
            "must be a string",
        );
        rejects(
            &with_actor(json!("mailto:a@example.com")),
            "actor",
            "must be an object",
        );
    }

    #[test]
    fn anonymous_group_needs_members() {
        accepts(&with_actor(
            json!({"objectType": "Group", "name": "Team", "member": members()}),
        ));
        rejects(
            &with_actor(json!({"objectType": "Group", "name": "Team"})),
            "actor.member",
            "is required",
        );
        rejects(
            &with_actor(json!({"objectType": "Group", "member": []})),
            "actor.member",
            "must not be empty",
        );
        rejects(
            &with_actor(json!({"objectType": "Group", "member": {"mbox": "mailto:a@example.com"}})),
            "actor.member",
            "must be an array",
        );
    }

    #[test]
    fn identified_group_has_one_identifier_and_optional_members() {
        accepts(&with_actor(
            json!({"objectType": "Group", "account": account()}),
        ));
        accepts(&with_actor(
            json!({"objectType": "Group", "mbox": "mailto:team@example.com", "member": members()}),
        ));
        accepts(&with_actor(
            json!({"objectType": "Group", "mbox": "mailto:team@example.com", "member": []}),
        ));
        let two = json!({"objectType": "Group", "mbox": "mailto:t@example.com", "openid": "http://openid.example.org/t"});
        rejects(&with_actor(two), "actor", "at most one of mbox");
    }

    #[test]
    fn group_members_are_valid_agents_never_groups() {
        let nested =
            json!([{"mbox": "mailto:a@example.com"}, {"objectType": "Group", "member": members()}]);
        rejects(
            &with_actor(json!({"objectType": "Group", "member": nested})),
            "actor.member[1].objectType",
            "not a Group",
        );
        let bad = json!([{"mbox": "mailto:a@example.com"}, {"mbox": "a@example.com"}]);
        rejects(
            &with_actor(json!({"objectType": "Group", "member": bad})),
            "actor.member[1].mbox",
            "mailto:",
        );
        let null_member = json!([null]);
        rejects(
            &with_actor(json!({"objectType": "Group", "member": null_member})),
            "actor.member[0]",
            "must not be null",
        );
    }

    #[test]
    fn authority_is_an_agent_or_an_anonymous_pair() {
        accepts(&set(base(), "/authority", json!({"account": account()})));
        let pair = json!({"objectType": "Group", "member": [{"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_consumer_x75db"}}, {"mbox": "mailto:bob@example.com"}]});
        accepts(&set(base(), "/authority", pair.clone()));
        let one = set(
            pair.clone(),
            "/member",
            json!([{"mbox": "mailto:bob@example.com"}]),
        );
        rejects(
            &set(base(), "/authority", one),
            "authority.member",
            "exactly two",
        );
        let three = set(
            pair.clone(),
            "/member/-",
            json!({"mbox": "mailto:jim@example.com"}),
        );
        rejects(
            &set(base(), "/authority", three),
            "authority.member",
            "exactly two",
        );
        let identified = set(pair, "/mbox", json!("mailto:bob@example.com"));
        rejects(
            &set(base(), "/authority", identified),
            "authority",
            "must be anonymous",
        );
        rejects(
            &set(base(), "/authority", json!({"name": "x"})),
            "authority",
            "exactly one of mbox",
        );
    }

    #[test]
    fn public_agent_and_actor_checks() {
        use super::super::{actor, agent};
        let ann = json!({"mbox": "mailto:ann@example.com"});
        let team = json!({"objectType": "Group", "member": [ann.clone()]});
        assert_eq!(agent(&ann, "agent"), Ok(()));
        assert_eq!(
            agent(&team, "agent").map_err(|e| e.field),
            Err("agent.objectType".into())
        );
        assert_eq!(actor(&team, "agent"), Ok(()));
        assert_eq!(
            actor(&json!({}), "agent").map_err(|e| e.field),
            Err("agent".into())
        );
        assert_eq!(
            agent(&json!({"mbox": null}), "").map_err(|e| e.field),
            Err("mbox".into())
        );
    }

    #[test]
    fn ifi_strings() {
        use super::super::ifi;
        assert_eq!(
            ifi(&json!({"mbox": "mailto:Ann@EXAMPLE.com"})),
            Some("mbox:mailto:Ann@example.com".into())
        );
        assert_eq!(
            ifi(
                &json!({"objectType": "Agent", "mbox_sha1sum": "EBD31E95054C018B10727CCFFD2EF2EC3A016EE9"})
            ),
            Some("mbox_sha1sum:ebd31e95054c018b10727ccffd2ef2ec3a016ee9".into())
        );
        assert_eq!(
            ifi(&json!({"openid": "http://openid.example.org/a"})),
            Some("openid:http://openid.example.org/a".into())
        );
        assert_eq!(
            ifi(&json!({"objectType": "Group", "account": account(), "member": []})),
            Some("account:http://www.example.com|1625378".into())
        );
    }

    #[test]
    fn ifi_is_none_without_a_single_valid_identifier() {
        use super::super::ifi;
        assert_eq!(
            ifi(&json!({"objectType": "Group", "member": members()})),
            None
        );
        assert_eq!(
            ifi(&json!({"objectType": "Activity", "mbox": "mailto:a@example.com"})),
            None
        );
        assert_eq!(
            ifi(&json!({"mbox": "mailto:a@example.com", "openid": "http://openid.example.org/a"})),
            None
        );
        assert_eq!(ifi(&json!({"mbox": "a@example.com"})), None);
        assert_eq!(
            ifi(&json!({"account": {"homePage": "http://example.com"}})),
            None
        );
        assert_eq!(ifi(&json!("mailto:a@example.com")), None);
    }
}
