"""A course's statements, sent by a stock xAPI client (Rustici's TinCanPython, `pip install
tincan`) configured with nothing but the LRS endpoint and an organisation client's id and secret,
then queried back page by page.

    python3 examples/xapi/course.py ENDPOINT CLIENT_ID CLIENT_SECRET PERSON_ID PUBLIC_URL

ENDPOINT is the LRS, e.g. http://localhost:8080/xapi/. The learner is the passport PERSON_ID,
named as xAPI names accounts: homePage PUBLIC_URL, name PERSON_ID. Prints a JSON summary.
"""

import json
import sys
import uuid

from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    AgentAccount,
    Context,
    LanguageMap,
    RemoteLRS,
    Result,
    Score,
    Statement,
    Verb,
)

ADL = "http://adlnet.gov/expapi/verbs/"


def verb(name):
    return Verb(id=ADL + name, display=LanguageMap({"en-GB": name}))


def main(endpoint, client_id, secret, person_id, public_url):
    lrs = RemoteLRS(version="1.0.3", endpoint=endpoint, username=client_id, password=secret)
    about = lrs.about()
    if not about.success:
        sys.exit(f"about failed: {about.data}")

    learner = Agent(name="Learner", account=AgentAccount(home_page=public_url, name=person_id))
    course = Activity(
        id="https://lms.example.org/courses/fire-safety",
        definition=ActivityDefinition(
            name=LanguageMap({"en-GB": "Fire safety awareness"}),
            type="http://adlnet.gov/expapi/activities/course",
        ),
    )
    module = Activity(
        id="https://lms.example.org/courses/fire-safety/module-1",
        definition=ActivityDefinition(name=LanguageMap({"en-GB": "Evacuation"})),
    )
    registration = str(uuid.uuid4())

    def statement(done, what, result=None):
        return Statement(
            actor=learner,
            verb=verb(done),
            object=what,
            result=result,
            context=Context(registration=registration),
        )

    statements = [
        statement("attempted", course),
        statement("experienced", module),
        statement(
            "answered",
            module,
            Result(success=True, response="Close the doors behind you"),
        ),
        statement(
            "passed",
            course,
            Result(
                score=Score(scaled=0.9),
                success=True,
                completion=True,
                duration="PT1H30M",
            ),
        ),
    ]
    saved = lrs.save_statements(statements)
    if not saved.success:
        sys.exit(f"save_statements failed: {saved.response.status} {saved.data}")
    stored = [s.id for s in saved.content]

    # Read the registration back two at a time, following `more` links.
    queried = []
    page = lrs.query_statements({"registration": registration, "ascending": True, "limit": 2})
    while True:
        if not page.success:
            sys.exit(f"query failed: {page.response.status} {page.data}")
        queried.extend(str(s.id) for s in page.content.statements)
        if not page.content.more:
            break
        page = lrs.more_statements(page.content)

    print(
        json.dumps(
            {
                "versions": list(about.content.version),
                "stored": [str(i) for i in stored],
                "queried": queried,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:6])
