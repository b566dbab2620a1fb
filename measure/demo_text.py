"""Topic pools for the demo data: the only place where subject matter lives.

Every task fills the same slots, so a persona's templates can be applied to
any task of either pool; swapping pools changes what users talk about, never
how they talk. Slot conventions (templates in `demo.py` rely on them):

- `thing`: indefinite noun phrase, lowercase article ("a React signup form").
- `the_thing`: definite short reference ("the signup form").
- `request`: imperative clause starting lowercase, no final period.
- `briefs`: terse lowercase fragments a hurried user would type.
- `vague`: a noun phrase that hides the details ("a form for my website").
- `facts`: background clauses, lowercase start, no final period.
- `constraints`: verb phrases that follow "it should ..." / "it has to ...".
- `audience`: noun phrase naming who uses or reads the result.
- `tweaks`: imperative follow-up requests, lowercase, no final period.
- `concepts`: noun phrases for parts of the answer a curious user asks about.
- `alternatives`: gerund phrases ("using pandas").
- `edge_cases`: clauses that follow "what happens if ...".
- `draft`: the user's own attempt (code for coding, a paragraph for writing).
- `answer`: what the assistant offers (code or an opening passage).
- `error`, `error2`: coding only; realistic tool output using the task's names.
"""
from __future__ import annotations

from dataclasses import dataclass

CODING = "coding"
WRITING = "writing"
TASK_KINDS = (CODING, WRITING)


@dataclass(frozen=True)
class Task:
    id: str
    kind: str
    thing: str
    the_thing: str
    request: str
    briefs: tuple[str, ...]
    vague: str
    facts: tuple[str, ...]
    constraints: tuple[str, ...]
    audience: str
    tweaks: tuple[str, ...]
    concepts: tuple[str, ...]
    alternatives: tuple[str, ...]
    edge_cases: tuple[str, ...]
    draft: str
    answer: str
    lang: str = ""   # programming language, coding only
    fence: str = ""  # markdown code-fence tag, coding only
    error: str = ""
    error2: str = ""


@dataclass(frozen=True)
class TopicPool:
    name: str
    coding: tuple[Task, ...]
    writing: tuple[Task, ...]

    def tasks(self, kind: str) -> tuple[Task, ...]:
        return self.coding if kind == CODING else self.writing

    @property
    def task_ids(self) -> set[str]:
        return {t.id for t in self.coding + self.writing}


def _coding(**kw) -> Task:
    return Task(kind=CODING, **kw)


def _writing(**kw) -> Task:
    return Task(kind=WRITING, **kw)


# --------------------------------------------------------------------------
# Pool A, coding
# --------------------------------------------------------------------------
_A_CODING = (
    _coding(
        id="A-code-csv-sales", lang="Python", fence="python",
        thing="a CSV sales report script", the_thing="the sales script",
        request="write a Python script that reads sales.csv and totals the revenue per region",
        briefs=("python script, total revenue per region from sales.csv",
                "csv -> revenue per region, python", "sum sales by region from a csv"),
        vague="a script for some sales data",
        facts=("the file is a Shopify export, so the headers have spaces in them",
               "there are about 40k rows",
               "some amounts are text like \"$1,200.50\"",
               "I'm on Python 3.11 on a locked-down work laptop"),
        constraints=("only use the standard library, no pandas",
                     "skip rows where the region is blank",
                     "print the totals sorted from highest to lowest"),
        audience="our finance team, who run it every Monday",
        tweaks=("write the totals to a new csv", "round everything to two decimals",
                "handle the dollar signs in the amount column"),
        concepts=("csv.DictReader", "defaultdict(float)", "the strip() call on the headers"),
        alternatives=("using pandas", "using a plain dict with setdefault"),
        edge_cases=("the file is empty", "a region name has trailing spaces"),
        draft="""import csv
totals = {}
with open("sales.csv") as f:
    for row in csv.DictReader(f):
        totals[row["region"]] += float(row["amount"])
print(totals)""",
        error="""Traceback (most recent call last):
  File "/home/maria/reports/sales_totals.py", line 5, in <module>
    totals[row["region"]] += float(row["amount"])
KeyError: 'region'""",
        error2="""Traceback (most recent call last):
  File "/home/maria/reports/sales_totals.py", line 9, in <module>
    totals[region] += float(row["amount"])
ValueError: could not convert string to float: '$1,200.50'""",
        answer="""import csv
from collections import defaultdict

totals = defaultdict(float)
with open("sales.csv", newline="") as f:
    reader = csv.DictReader(f)
    reader.fieldnames = [h.strip().lower() for h in reader.fieldnames]
    for row in reader:
        region = row["region"].strip()
        if region:
            totals[region] += float(row["amount"].replace("$", "").replace(",", ""))

for region, total in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"{region}: {total:.2f}")""",
    ),
    _coding(
        id="A-code-react-signup", lang="JavaScript", fence="jsx",
        thing="a React signup form", the_thing="the signup form",
        request="build a React signup form with email and password validation",
        briefs=("react signup form w/ validation", "signup form in react, email + password",
                "react form that validates email and password"),
        vague="a form for my website",
        facts=("the app was made with Vite and uses React 18",
               "we already have a /api/signup endpoint that takes JSON",
               "right now the page just reloads when you hit submit",
               "the design team wants the errors shown under each field"),
        constraints=("use plain useState, no form library",
                     "disable the button while the request is in flight",
                     "require passwords of at least 10 characters"),
        audience="new customers signing up on our booking site",
        tweaks=("add a confirm password field", "show a spinner on the button",
                "clear the form after a successful signup"),
        concepts=("e.preventDefault()", "the errors object in state", "the async handleSubmit"),
        alternatives=("using react-hook-form", "using a single reducer instead of several useState calls"),
        edge_cases=("the API returns a 409 because the email is taken",
                    "someone pastes an email with spaces around it"),
        draft="""function SignupForm() {
  const [form, setForm] = useState();
  const onChange = e => setForm({ ...form, [e.target.name]: e.target.value });
  return (
    <form onSubmit={handleSubmit}>
      <input name="email" value={form.email} onChange={onChange} />
      <input name="password" type="password" value={form.password} onChange={onChange} />
      <button>Sign up</button>
    </form>
  );
}""",
        error="""Uncaught TypeError: Cannot read properties of undefined (reading 'email')
    at SignupForm (SignupForm.jsx:6:44)
    at renderWithHooks (react-dom.development.js:16305:18)
    at mountIndeterminateComponent (react-dom.development.js:20074:13)
    at beginWork (react-dom.development.js:21587:16)""",
        error2="""Warning: A component is changing an uncontrolled input to be controlled. This is likely caused by the value changing from undefined to a defined value, which should not happen.
    at input
    at form
    at SignupForm (http://localhost:5173/src/SignupForm.jsx:4:29)""",
        answer="""function SignupForm() {
  const [form, setForm] = useState({ email: "", password: "" });
  const [errors, setErrors] = useState({});
  const onChange = e => setForm({ ...form, [e.target.name]: e.target.value });

  async function handleSubmit(e) {
    e.preventDefault();
    const next = {};
    if (!/^\\S+@\\S+\\.\\S+$/.test(form.email.trim())) next.email = "Enter a valid email";
    if (form.password.length < 10) next.password = "Use at least 10 characters";
    setErrors(next);
    if (Object.keys(next).length) return;
    await fetch("/api/signup", { method: "POST", body: JSON.stringify(form) });
  }
  // ...render the inputs with {errors.email} / {errors.password} below each
}""",
    ),
    _coding(
        id="A-code-sql-join", lang="SQL", fence="sql",
        thing="a SQL query joining customers and orders", the_thing="the query",
        request="write a SQL query that lists each customer with their total order value this year",
        briefs=("sql: customers + total order value this year",
                "postgres join customers orders, sum per customer",
                "query for total spend per customer this year"),
        vague="a database query",
        facts=("it's PostgreSQL 15",
               "the tables are customers(id, name, email) and orders(id, customer_id, total, created_at)",
               "some customers have no orders at all",
               "orders.total is numeric(10,2)"),
        constraints=("include customers with zero orders",
                     "sort by total spend, highest first",
                     "only count orders from this calendar year"),
        audience="the account managers who pull it into a spreadsheet",
        tweaks=("add the order count as a column", "only show the top 20",
                "format the total with two decimals"),
        concepts=("the LEFT JOIN", "COALESCE", "the date filter inside the ON clause"),
        alternatives=("using a subquery instead of a join", "using a window function"),
        edge_cases=("two customers have the same name", "an order has a NULL total"),
        draft="""SELECT id, name, SUM(total) AS spend
FROM customers
JOIN orders ON orders.customer_id = customers.id
WHERE created_at >= '2024-01-01'
GROUP BY name;""",
        error="""ERROR:  column reference "id" is ambiguous
LINE 1: SELECT id, name, SUM(total) AS spend
               ^
SQL state: 42702""",
        error2="""ERROR:  column "c.email" must appear in the GROUP BY clause or be used in an aggregate function
LINE 1: SELECT c.id, c.name, c.email, SUM(o.total) AS spend
                             ^""",
        answer="""SELECT c.id, c.name, COALESCE(SUM(o.total), 0) AS spend
FROM customers c
LEFT JOIN orders o
  ON o.customer_id = c.id
 AND o.created_at >= date_trunc('year', now())
GROUP BY c.id, c.name
ORDER BY spend DESC;""",
    ),
    _coding(
        id="A-code-flask-todo", lang="Python", fence="python",
        thing="a Flask API for todo items", the_thing="the Flask endpoint",
        request="write a Flask endpoint that returns all the todo items as JSON",
        briefs=("flask GET /todos returning json", "flask api endpoint to list todos",
                "todo list endpoint in flask"),
        vague="a small backend thing",
        facts=("the todos live in SQLite through SQLAlchemy",
               "each todo has a created_at datetime",
               "the frontend is a Vue app running on another port",
               "I'm running it with flask run in debug mode"),
        constraints=("return the dates in ISO format",
                     "support ?done=true as a filter",
                     "return a JSON 404 for unknown ids"),
        audience="the Vue frontend my teammate is building",
        tweaks=("add a POST route to create todos", "paginate with ?page=",
                "add CORS for localhost:5173"),
        concepts=("jsonify", "the to_dict method", "isoformat()"),
        alternatives=("using Flask-RESTX", "using marshmallow schemas"),
        edge_cases=("there are no todos yet", "done is passed as 'yes' instead of 'true'"),
        draft="""@app.get("/todos")
def list_todos():
    todos = Todo.query.all()
    return jsonify([t.__dict__ for t in todos])""",
        error="""Traceback (most recent call last):
  File "/home/sam/todo-api/venv/lib/python3.10/site-packages/flask/app.py", line 2190, in wsgi_app
    response = self.full_dispatch_request()
  File "/home/sam/todo-api/app.py", line 31, in list_todos
    return jsonify([t.__dict__ for t in todos])
TypeError: Object of type InstanceState is not JSON serializable""",
        error2="""Traceback (most recent call last):
  File "/home/sam/todo-api/app.py", line 33, in list_todos
    return jsonify([t.to_dict() for t in todos])
TypeError: Object of type datetime is not JSON serializable""",
        answer="""@app.get("/todos")
def list_todos():
    query = Todo.query
    if request.args.get("done") == "true":
        query = query.filter_by(done=True)
    return jsonify([t.to_dict() for t in query.all()])


class Todo(db.Model):
    # ...columns...
    def to_dict(self):
        return {"id": self.id, "title": self.title, "done": self.done,
                "created_at": self.created_at.isoformat()}""",
    ),
    _coding(
        id="A-code-bash-backup", lang="Bash", fence="bash",
        thing="a bash backup script", the_thing="the backup script",
        request="write a bash script that backs up my photos folder to an external drive with rsync",
        briefs=("bash rsync backup photos -> external drive", "backup script, rsync, photos folder",
                "nightly photo backup bash script"),
        vague="a backup thing for my laptop",
        facts=("the drive mounts at /media/dana/Backup",
               "the photos are in ~/Pictures/Family Photos, with a space in the name",
               "I want cron to run it every night",
               "it's Ubuntu 22.04"),
        constraints=("keep a log file of each run",
                     "leave files on the drive alone even if I deleted them locally",
                     "exit quietly if the drive isn't plugged in"),
        audience="me and my partner, who might run it by hand",
        tweaks=("add a dry-run flag", "email me if it fails", "keep only the last 30 log files"),
        concepts=("the -a flag", "the quotes around the path", "set -euo pipefail"),
        alternatives=("using cp -r", "using a systemd timer instead of cron"),
        edge_cases=("the drive is full", "the laptop is asleep at the cron time"),
        draft="""#!/bin/bash
SRC=~/Pictures/Family Photos
DEST=/media/dana/Backup/photos
rsync -av --delete $SRC $DEST""",
        error="""./backup.sh: line 2: Photos: command not found
rsync: [sender] change_dir "/home/dana/Pictures/Family" failed: No such file or directory (2)
rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1333) [sender=3.2.3]""",
        error2="""rsync: [Receiver] mkdir "/media/dana/Backup/photos" failed: Read-only file system (30)
rsync error: error in file IO (code 11) at main.c(791) [Receiver=3.2.3]""",
        answer="""#!/usr/bin/env bash
set -euo pipefail
SRC="$HOME/Pictures/Family Photos/"
DEST="/media/dana/Backup/photos/"
LOG="$HOME/.local/share/photo-backup/$(date +%F).log"

mountpoint -q /media/dana/Backup || exit 0
mkdir -p "$(dirname "$LOG")"
rsync -a "$SRC" "$DEST" >>"$LOG" 2>&1""",
    ),
    _coding(
        id="A-code-pandas-pivot", lang="Python", fence="python",
        thing="a pandas pivot table of survey answers", the_thing="the pivot table",
        request="turn our survey responses into a pandas pivot table of the average score per question and department",
        briefs=("pandas pivot survey scores by dept", "pivot table avg score per question/department",
                "survey results pivot in pandas"),
        vague="a report from some survey data",
        facts=("the data is in long format: respondent, department, question, score and a timestamp",
               "some people answered the same question twice",
               "there are 14 departments and 22 questions",
               "it comes from a Google Forms export"),
        constraints=("use the latest answer when someone answered twice",
                     "round the averages to one decimal",
                     "put departments as rows and questions as columns"),
        audience="HR, who will paste it into a slide deck",
        tweaks=("add a row with the overall average", "colour the cells like a heatmap",
                "export it to Excel"),
        concepts=("pivot_table instead of pivot", "drop_duplicates with keep='last'", "aggfunc='mean'"),
        alternatives=("using groupby and unstack", "doing it in Excel directly"),
        edge_cases=("a department has only one respondent", "a score is missing"),
        draft="""import pandas as pd
df = pd.read_csv("survey.csv")
table = df.pivot(index="department", columns="question", values="score")
print(table)""",
        error="""Traceback (most recent call last):
  File "C:\\Users\\priya\\survey\\pivot.py", line 3, in <module>
    table = df.pivot(index="department", columns="question", values="score")
  File "C:\\Users\\priya\\AppData\\Local\\Programs\\Python\\Python311\\Lib\\site-packages\\pandas\\core\\frame.py", line 9025, in pivot
    return pivot(self, index=index, columns=columns, values=values)
ValueError: Index contains duplicate entries, cannot reshape""",
        error2="""Traceback (most recent call last):
  File "C:\\Users\\priya\\survey\\pivot.py", line 5, in <module>
    table = df.pivot_table(index="department", columns="question", values="score", aggfunc="mean")
TypeError: agg function failed [how->mean,dtype->object]""",
        answer="""import pandas as pd

df = pd.read_csv("survey.csv", parse_dates=["timestamp"])
df["score"] = pd.to_numeric(df["score"], errors="coerce")
df = df.sort_values("timestamp").drop_duplicates(["respondent", "question"], keep="last")
table = df.pivot_table(index="department", columns="question",
                       values="score", aggfunc="mean").round(1)
print(table)""",
    ),
    _coding(
        id="A-code-js-phone-regex", lang="JavaScript", fence="js",
        thing="a regex for phone numbers", the_thing="the regex",
        request="write a JavaScript regex that validates US phone numbers",
        briefs=("js regex us phone numbers", "regex to validate phone number (US)",
                "phone number regex for a checkout form"),
        vague="a validation thing",
        facts=("people type numbers like (555) 123-4567, 555.123.4567 and +1 555 123 4567",
               "it runs in the browser on our checkout page",
               "we store the number as digits only afterwards",
               "the old regex let letters through"),
        constraints=("accept an optional +1 prefix", "reject anything with letters in it",
                     "work in Safari too"),
        audience="shoppers filling in the checkout form",
        tweaks=("also return the digits only", "allow extensions like x123", "add a few test cases"),
        concepts=("the ^ and $ anchors", "the non-capturing group", "the \\d{3} part"),
        alternatives=("using libphonenumber", "stripping non-digits first and checking the length"),
        edge_cases=("someone types a space at the end", "the number starts with a 1 but no plus"),
        draft="""const PHONE = /^(?<area\\d{3})[-. ]?\\d{3}[-. ]?\\d{4}$/;
export const isPhone = s => PHONE.test(s);""",
        error="""Uncaught SyntaxError: Invalid regular expression: /^(?<area\\d{3})[-. ]?\\d{3}[-. ]?\\d{4}$/: Invalid capture group name
    at validate.js:1:15""",
        error2="""AssertionError [ERR_ASSERTION]: isPhone('(555) 123-4567') should be true
    at Context.<anonymous> (test/validate.test.js:8:12)
    at process.processImmediate (node:internal/timers:476:21)""",
        answer="""const PHONE = /^(?:\\+?1[-. ]?)?\\(?(\\d{3})\\)?[-. ]?(\\d{3})[-. ]?(\\d{4})$/;

export function isPhone(s) {
  return PHONE.test(s.trim());
}""",
    ),
    _coding(
        id="A-code-java-bank", lang="Java", fence="java",
        thing="a Java BankAccount class with JUnit tests", the_thing="the BankAccount class",
        request="write a Java BankAccount class with deposit and withdraw methods and JUnit 5 tests",
        briefs=("java bank account class + junit tests", "BankAccount deposit/withdraw java",
                "junit 5 tests for a bank account class"),
        vague="a Java assignment",
        facts=("it's for my second-semester programming course",
               "we have to use BigDecimal for money",
               "the build uses Maven",
               "withdrawing more than the balance should throw an exception"),
        constraints=("use no libraries besides JUnit", "have at least five tests",
                     "keep the balance field private"),
        audience="my TA, who grades on readability",
        tweaks=("add a transfer method", "add a test for negative deposits", "add Javadoc comments"),
        concepts=("BigDecimal.compareTo", "assertThrows", "the signum() check"),
        alternatives=("using double for the balance", "using a custom InsufficientFundsException"),
        edge_cases=("someone deposits zero", "two withdrawals happen at the same time"),
        draft="""public class BankAccount {
    private double balance;
    public void deposit(double amount) { balance =+ amount; }
    public void withdraw(double amount) { balance -= amount; }
    public double getBalance() { return balance; }
}""",
        error="""[ERROR] Tests run: 4, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.041 s <<< FAILURE! - in BankAccountTest
[ERROR] depositAddsToBalance  Time elapsed: 0.006 s  <<< FAILURE!
org.opentest4j.AssertionFailedError: expected: <150.0> but was: <50.0>
	at BankAccountTest.depositAddsToBalance(BankAccountTest.java:14)""",
        error2="""[ERROR] /home/lee/bank/src/main/java/BankAccount.java:[12,35] incompatible types: double cannot be converted to java.math.BigDecimal
[ERROR] BUILD FAILURE""",
        answer="""public class BankAccount {
    private BigDecimal balance = BigDecimal.ZERO;

    public void deposit(BigDecimal amount) {
        if (amount.signum() <= 0) throw new IllegalArgumentException("amount must be positive");
        balance = balance.add(amount);
    }

    public void withdraw(BigDecimal amount) {
        if (amount.compareTo(balance) > 0) throw new IllegalStateException("insufficient funds");
        balance = balance.subtract(amount);
    }

    public BigDecimal getBalance() { return balance; }
}""",
    ),
    _coding(
        id="A-code-express-jwt", lang="JavaScript", fence="js",
        thing="an Express middleware that checks JWTs", the_thing="the auth middleware",
        request="write Express middleware that checks the JWT in the Authorization header",
        briefs=("express jwt auth middleware", "node middleware to verify bearer token",
                "jwt check middleware for express"),
        vague="a login thing for our API",
        facts=("tokens are signed with HS256 and the secret is in process.env.JWT_SECRET",
               "the mobile app sends 'Authorization: Bearer <token>'",
               "we use the jsonwebtoken package",
               "the health check route has to stay public"),
        constraints=("return 401 errors as JSON, not HTML", "put the decoded user on req.user",
                     "skip the check for /health"),
        audience="the mobile app team that calls the API",
        tweaks=("give expired tokens a clearer message", "add role checks", "make it async"),
        concepts=("split(' ')[1]", "jwt.verify", "the call to next()"),
        alternatives=("using passport-jwt", "using the express-jwt package"),
        edge_cases=("the header is missing entirely", "the token is expired"),
        draft="""function auth(req, res, next) {
  const token = req.headers.authorization;
  req.user = jwt.verify(token, process.env.JWT_SECRET);
  next();
}""",
        error="""JsonWebTokenError: jwt malformed
    at Object.module.exports [as verify] (/srv/api/node_modules/jsonwebtoken/verify.js:70:17)
    at auth (/srv/api/middleware/auth.js:3:18)
    at Layer.handle [as handle_request] (/srv/api/node_modules/express/lib/router/layer.js:95:5)""",
        error2="""TokenExpiredError: jwt expired
    at /srv/api/node_modules/jsonwebtoken/verify.js:190:21
    at auth (/srv/api/middleware/auth.js:9:20)""",
        answer="""function auth(req, res, next) {
  if (req.path === "/health") return next();
  const [scheme, token] = (req.headers.authorization || "").split(" ");
  if (scheme !== "Bearer" || !token) return res.status(401).json({ error: "missing token" });
  try {
    req.user = jwt.verify(token, process.env.JWT_SECRET);
    next();
  } catch (err) {
    const msg = err.name === "TokenExpiredError" ? "token expired" : "invalid token";
    res.status(401).json({ error: msg });
  }
}""",
    ),
    _coding(
        id="A-code-recipe-scraper", lang="Python", fence="python",
        thing="a web scraper for recipe pages", the_thing="the scraper",
        request="write a Python scraper that pulls the ingredient list from recipe pages",
        briefs=("python scraper for recipe ingredients", "bs4 scrape ingredients from recipe urls",
                "scrape ingredient lists, python"),
        vague="a script to grab stuff from websites",
        facts=("I have a list of about 300 URLs in urls.txt",
               "the site puts each ingredient in <li class=\"ingredient\">",
               "some pages show a cookie banner first",
               "I'm using requests and BeautifulSoup"),
        constraints=("wait a second between requests", "save everything to one JSON file",
                     "skip pages that 404 instead of crashing"),
        audience="my meal-planning side project",
        tweaks=("add a retry for timeouts", "also grab the recipe title", "show a progress bar"),
        concepts=("soup.select", "raise_for_status()", "the User-Agent header"),
        alternatives=("using Scrapy", "using their JSON-LD data instead of the HTML"),
        edge_cases=("a page has no ingredient list", "the site blocks us with a 429"),
        draft="""for url in open("urls.txt"):
    html = requests.get(url.strip()).text
    soup = BeautifulSoup(html, "html.parser")
    items = soup.find("ul", class_="ingredients").find_all("li")""",
        error="""Traceback (most recent call last):
  File "/Users/tom/recipes/scrape.py", line 12, in <module>
    items = soup.find("ul", class_="ingredients").find_all("li")
AttributeError: 'NoneType' object has no attribute 'find_all'""",
        error2="""requests.exceptions.HTTPError: 429 Client Error: Too Many Requests for url: https://www.example-recipes.com/r/lemon-drizzle-cake""",
        answer="""results = {}
for url in Path("urls.txt").read_text().split():
    resp = requests.get(url, headers={"User-Agent": "meal-planner/0.1"}, timeout=10)
    if resp.status_code == 404:
        continue
    resp.raise_for_status()
    soup = BeautifulSoup(resp.text, "html.parser")
    results[url] = [li.get_text(strip=True) for li in soup.select("li.ingredient")]
    time.sleep(1)
Path("ingredients.json").write_text(json.dumps(results, indent=2))""",
    ),
    _coding(
        id="A-code-c-linked-list", lang="C", fence="c",
        thing="a linked list in C", the_thing="the linked list code",
        request="implement a singly linked list in C with insert, delete and print",
        briefs=("c linked list insert delete print", "singly linked list in C",
                "linked list impl, C, with free"),
        vague="a C homework problem",
        facts=("we compile with gcc -Wall -Wextra -std=c11",
               "the autograder runs valgrind",
               "the list stores ints",
               "delete should remove the first matching value"),
        constraints=("free every node before exit", "use no global variables",
                     "handle deleting the head node"),
        audience="the course autograder",
        tweaks=("add a reverse function", "add a function that returns the length",
                "keep the list sorted on insert"),
        concepts=("the pointer to a pointer in delete", "the check on malloc's return", "the free loop"),
        alternatives=("using a dummy head node", "using recursion for printing"),
        edge_cases=("the list is empty", "the value isn't in the list"),
        draft="""void delete(struct node *head, int value) {
    struct node *cur = head;
    while (cur->next->value != value)
        cur = cur->next;
    free(cur->next);
    cur->next = cur->next->next;
}""",
        error="""==4127== Invalid read of size 8
==4127==    at 0x1091F4: delete (list.c:38)
==4127==    by 0x109352: main (list.c:71)
==4127==  Address 0x4a8f0c8 is 8 bytes inside a block of size 16 free'd
==4127==    at 0x483CA3F: free (vg_replace_malloc.c:540)
==4127==    by 0x1091EF: delete (list.c:37)
Segmentation fault (core dumped)""",
        error2="""==4127== LEAK SUMMARY:
==4127==    definitely lost: 48 bytes in 3 blocks
==4127==    indirectly lost: 0 bytes in 0 blocks""",
        answer="""void list_delete(struct node **head, int value) {
    for (struct node **pp = head; *pp; pp = &(*pp)->next) {
        if ((*pp)->value == value) {
            struct node *gone = *pp;
            *pp = gone->next;
            free(gone);
            return;
        }
    }
}""",
    ),
    _coding(
        id="A-code-django-posts", lang="Python", fence="python",
        thing="a Django model for blog posts", the_thing="the Post model",
        request="set up a Django Post model with an author, plus a view that creates posts",
        briefs=("django post model + create view", "django blog post model w/ author",
                "blog model and create view, django"),
        vague="a blog feature on my site",
        facts=("I'm on Django 4.2 with SQLite locally",
               "authors are the built-in User model",
               "there are already 20 posts in the database with no author",
               "posts are created through a ModelForm"),
        constraints=("set the author from the logged-in user", "keep the existing posts",
                     "generate a slug from the title"),
        audience="my small team of three writers",
        tweaks=("add tags", "add a published flag", "show the author's name in the admin list"),
        concepts=("on_delete=models.CASCADE", "form.save(commit=False)", "the data migration"),
        alternatives=("making the author nullable", "using a class-based CreateView"),
        edge_cases=("two posts have the same title", "a user gets deleted"),
        draft="""class Post(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField()
    author = models.ForeignKey(User, on_delete=models.CASCADE)""",
        error="""Traceback (most recent call last):
  File "/home/ines/site/venv/lib/python3.11/site-packages/django/db/backends/sqlite3/base.py", line 328, in execute
    return super().execute(query, params)
  File "/home/ines/site/blog/views.py", line 18, in create_post
    post = form.save()
django.db.utils.IntegrityError: NOT NULL constraint failed: blog_post.author_id""",
        error2="""  File "/home/ines/site/blog/views.py", line 22, in create_post
    post.save()
django.db.utils.IntegrityError: UNIQUE constraint failed: blog_post.slug""",
        answer="""class Post(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    body = models.TextField()
    author = models.ForeignKey(User, on_delete=models.CASCADE, related_name="posts")


@login_required
def create_post(request):
    form = PostForm(request.POST or None)
    if form.is_valid():
        post = form.save(commit=False)
        post.author = request.user
        post.slug = slugify(post.title)
        post.save()
        return redirect(post)
    return render(request, "blog/post_form.html", {"form": form})""",
    ),
)

# --------------------------------------------------------------------------
# Pool A, writing
# --------------------------------------------------------------------------
_A_WRITING = (
    _writing(
        id="A-write-cover-letter",
        thing="a cover letter", the_thing="the cover letter",
        request="write a cover letter for a junior data analyst job at a logistics company",
        briefs=("cover letter, junior data analyst", "cover letter for a data analyst job",
                "short cover letter, analyst role at a logistics firm"),
        vague="a job application thing",
        facts=("I spent two years as an assistant manager at a grocery store",
               "I just finished the Google data analytics certificate",
               "the company is called Northwind Freight",
               "I built a dashboard that tracked stock waste at my store"),
        constraints=("stay under 300 words", "avoid sounding desperate",
                     "mention my Excel and SQL skills"),
        audience="the hiring manager at Northwind",
        tweaks=("make the opening less generic", "cut the second paragraph",
                "make it sound more confident"),
        concepts=("the opening line", "the dashboard mention so early", "the closing sentence"),
        alternatives=("starting with my certificate instead", "using a bullet list of skills"),
        edge_cases=("they ask why I'm leaving retail", "the hiring manager's name isn't listed"),
        draft="Dear Hiring Manager, I am writing to apply for the Junior Data Analyst position at "
              "Northwind Freight. I have always been passionate about data and I think I would be "
              "a great fit for this role because I am hard working and a fast learner. In my "
              "current job as assistant manager I do a lot of reports. I recently completed the "
              "Google Data Analytics certificate.",
        answer="Dear Hiring Manager,\n\nWhen I noticed that my store was throwing away almost 8% of "
               "its fresh stock, I built a simple dashboard to find out why, and we cut the waste "
               "by a third in six months. That project is the reason I'm applying for the Junior "
               "Data Analyst role at Northwind Freight.",
    ),
    _writing(
        id="A-write-wedding-toast",
        thing="a wedding toast", the_thing="the toast",
        request="write a maid of honour toast for my sister's wedding",
        briefs=("maid of honour toast, sister's wedding", "wedding toast for my sister",
                "short funny toast, sister + her new husband"),
        vague="a speech for a family thing",
        facts=("my sister is Jess and she's marrying Tom",
               "they met when Tom reversed into her car in a Tesco car park",
               "our dad passed away two years ago",
               "they're moving to Glasgow next month"),
        constraints=("be about three minutes long", "be funny without embarrassing her",
                     "mention Dad gently without making it sad"),
        audience="about 120 guests, mostly family and some of Tom's colleagues",
        tweaks=("add a joke about the car park", "make the ending more emotional",
                "cut it to two minutes"),
        concepts=("the opening joke", "the bit about Dad", "the raised-glass ending"),
        alternatives=("starting with a childhood story", "ending on a quote"),
        edge_cases=("I get emotional halfway through", "Tom's family don't get the in-jokes"),
        draft="Hi everyone, for those who don't know me I'm Laura, Jess's big sister. I've known "
              "Jess her whole life, which means I have a lot of stories I promised not to tell "
              "tonight. When Jess first told me about Tom she said he'd crashed into her car and I "
              "thought that was the end of it. Clearly it wasn't.",
        answer="Good evening, everyone. For anyone I haven't met yet, I'm Laura: Jess's big sister "
               "and the keeper of every embarrassing story from the last twenty-nine years. Don't "
               "worry, Jess. Most of them are staying in the vault tonight.",
    ),
    _writing(
        id="A-write-candle-listing",
        thing="a product description for my candles", the_thing="the product description",
        request="write an Etsy product description for my handmade soy candles",
        briefs=("etsy listing for a soy candle", "product description, handmade candles",
                "candle listing copy"),
        vague="some text for my shop",
        facts=("the scent is fig and cedarwood",
               "each candle burns for about 45 hours",
               "I pour them by hand in my kitchen in Bristol",
               "the jars are reusable amber glass"),
        constraints=("include keywords like soy candle and gift", "stay under 150 words",
                     "sound cosy rather than salesy"),
        audience="people buying gifts on Etsy, mostly women in their 30s",
        tweaks=("add a bullet list of specs", "write a version for the lavender one",
                "add a line about care instructions"),
        concepts=("the first sentence", "the word 'hygge'", "the burn time bullet"),
        alternatives=("leading with the scent", "going with a shorter, punchier version"),
        edge_cases=("Etsy cuts off the preview after two lines",
                    "someone is allergic to fragrance oils"),
        draft="This candle is handmade with soy wax. It smells like fig and cedarwood. It burns "
              "for 45 hours. The jar can be reused after. Perfect as a gift for someone special or "
              "for yourself. Made in Bristol.",
        answer="Fig leaves, warm cedar and a slow, steady glow. Each candle is hand-poured in small "
               "batches in my Bristol kitchen using natural soy wax, so it burns clean and even for "
               "around 45 hours.",
    ),
    _writing(
        id="A-write-client-apology",
        thing="an apology email to a client", the_thing="the email",
        request="write an apology email to a client because we missed a project deadline",
        briefs=("apology email to client, missed deadline", "email to client saying sorry we're late",
                "professional apology email"),
        vague="a tricky email",
        facts=("the client is Hendricks & Co and the deliverable is their website redesign",
               "we're five days late because our designer was off sick",
               "the new date is next Friday",
               "they've been a client for six years"),
        constraints=("own the mistake without making excuses",
                     "offer a 10% discount on this phase",
                     "be short enough to read on a phone"),
        audience="Rachel, their head of marketing, who is annoyed",
        tweaks=("make it warmer", "add a line offering a call", "take out the discount"),
        concepts=("the subject line", "the apology in the first sentence",
                  "the part about the designer being ill"),
        alternatives=("calling her instead of emailing", "leaving the discount out"),
        edge_cases=("we miss the new date too", "she forwards it to her boss"),
        draft="Hi Rachel, I wanted to reach out regarding the website redesign. Unfortunately due "
              "to unforeseen circumstances on our end the delivery will be delayed. We are working "
              "hard to get it to you as soon as possible and apologise for any inconvenience this "
              "may cause.",
        answer="Subject: Website redesign: an apology and a new date\n\nHi Rachel,\n\nI'm sorry: we "
               "missed the date we promised you for the redesign, and that's on us. The finished "
               "site will be with you next Friday.",
    ),
    _writing(
        id="A-write-linkedin-promotion",
        thing="a LinkedIn post about my promotion", the_thing="the post",
        request="write a LinkedIn post announcing my promotion to engineering manager",
        briefs=("linkedin post, promotion to eng manager", "promotion announcement for linkedin",
                "short linkedin post about my new role"),
        vague="a social media post",
        facts=("I've been at Fieldline for four years",
               "I started there as a junior backend developer",
               "my mentor Aisha pushed me to apply",
               "I'll be leading the payments team of seven people"),
        constraints=("avoid sounding braggy", "thank my team without tagging everyone",
                     "stay under 120 words"),
        audience="my network, including ex-colleagues and recruiters",
        tweaks=("add a line about what I learned", "remove the hashtags", "make it less formal"),
        concepts=("the hook line", "the hashtags at the end", "the thank-you to Aisha"),
        alternatives=("telling a story about my first week instead",
                      "just updating my profile instead of posting"),
        edge_cases=("someone who also applied reads it", "it comes across as humblebragging"),
        draft="I'm thrilled and humbled to announce that I have been promoted to Engineering "
              "Manager at Fieldline! It has been an incredible journey and I couldn't have done it "
              "without my amazing team. #promotion #leadership #grateful",
        answer="Four years ago I joined Fieldline as a junior backend developer who was nervous "
               "about touching the payments code. Today I start as engineering manager for that "
               "same payments team.",
    ),
    _writing(
        id="A-write-landlord-mould",
        thing="a complaint letter to my landlord", the_thing="the letter",
        request="write a letter to my landlord about the mould in our flat",
        briefs=("letter to landlord re mould", "complaint letter, mould in the flat",
                "formal letter to landlord about damp and mould"),
        vague="a letter about my flat",
        facts=("the mould is in the bedroom and the bathroom",
               "I first reported it by text on 3 January",
               "my daughter has asthma",
               "the letting agent is Parkside Lettings"),
        constraints=("be firm but polite", "ask for a repair date within 14 days",
                     "list the dates I reported it"),
        audience="the landlord, Mr Okafor, and the letting agent",
        tweaks=("mention the council if nothing happens", "add a list of the photos I'm attaching",
                "make it shorter"),
        concepts=("the 14-day deadline", "the mention of my daughter's asthma",
                  "the reference to the council"),
        alternatives=("emailing the letting agent first", "using a friendlier tone"),
        edge_cases=("he says it's condensation from drying clothes", "he doesn't reply"),
        draft="Dear Mr Okafor, I am writing about the mould in the flat again. I have told you "
              "about it many times and nothing has been done. It is getting worse and it is not "
              "healthy. Please can you sort it out soon.",
        answer="Dear Mr Okafor,\n\nRe: Damp and mould at Flat 4, 27 Moor Lane\n\nI am writing to "
               "formally report black mould in the bedroom and bathroom of the flat, which I first "
               "raised with you by text on 3 January.",
    ),
    _writing(
        id="A-write-scifi-opening",
        thing="the opening of a sci-fi short story", the_thing="the opening",
        request="write the opening paragraph of a sci-fi short story about the last gardener on a generation ship",
        briefs=("sci-fi story opening, gardener on a generation ship", "first paragraph of a space short story",
                "opening para, last gardener on a ship"),
        vague="a creative writing piece",
        facts=("the main character is Ode, who is seventy and the last trained gardener",
               "the ship has been travelling for 300 years",
               "the story is about grief more than technology",
               "it's for a contest with a 3,000-word limit"),
        constraints=("start in the middle of an action", "avoid info-dumping the ship's history",
                     "use third person past tense"),
        audience="the contest judges at a literary magazine",
        tweaks=("make the first line stronger", "add a smell or a sound", "make Ode less sentimental"),
        concepts=("the dying tomato plants at the start", "the flashback", "the unnamed ship"),
        alternatives=("writing it in first person", "starting with dialogue"),
        edge_cases=("the judges think it's too slow", "it reads like a cliché"),
        draft="The year was 2847 and the ship Horizon had been travelling through space for 300 "
              "years. Ode was the last gardener on board. She was seventy years old and very tired, "
              "and every day she went to the garden deck to look after the plants, which were dying.",
        answer="The tomatoes were dying again, and Ode talked to them while they did it. She had "
               "talked to every plant on the deck for fifty years, and none of them had ever "
               "answered, which was more than she could say for the ship.",
    ),
    _writing(
        id="A-write-college-essay",
        thing="a college application essay", the_thing="the essay",
        request="write my college application essay about working at my family's restaurant",
        briefs=("college essay about the family restaurant", "common app essay, restaurant job",
                "personal statement about working at our restaurant"),
        vague="a school essay",
        facts=("my parents run a Vietnamese restaurant in Houston",
               "I've worked there every weekend since I was twelve",
               "I want to study chemical engineering",
               "I taught myself to fix the compressor on our walk-in freezer"),
        constraints=("stay under 650 words", "avoid turning it into a sob story",
                     "show who I am instead of listing achievements"),
        audience="admissions officers at engineering schools",
        tweaks=("make the freezer story the centre", "cut the part about my grades",
                "end on something forward-looking"),
        concepts=("the freezer opening", "the line about fish sauce", "the ending"),
        alternatives=("writing about robotics club instead", "using a more chronological structure"),
        edge_cases=("it sounds like every other family-business essay", "it goes over the word limit"),
        draft="I have always been a hard worker. Since I was twelve I have worked at my parents' "
              "restaurant every weekend. This taught me responsibility, time management and "
              "teamwork. It also made me interested in engineering because I fixed our freezer once.",
        answer="At 11 p.m. on a Saturday in July, the walk-in freezer at my parents' restaurant "
               "started to sound like a dying lawnmower. Three hundred dollars of shrimp were "
               "inside, and the repairman couldn't come until Monday.",
    ),
    _writing(
        id="A-write-resignation",
        thing="a resignation letter", the_thing="the resignation letter",
        request="write a resignation letter for my job as a pharmacy technician",
        briefs=("resignation letter, pharmacy tech", "short resignation letter, 4 weeks notice",
                "polite resignation letter"),
        vague="a letter for work",
        facts=("I've worked at Greenway Pharmacy for three years",
               "my last day will be 28 June",
               "I'm leaving to start nursing school",
               "my manager Diane has been really supportive"),
        constraints=("give four weeks' notice", "offer to help train my replacement",
                     "fit on one page"),
        audience="my manager Diane and HR",
        tweaks=("make it a bit warmer", "remove the reason I'm leaving", "add my employee number"),
        concepts=("the last day in the first paragraph", "the thank-you paragraph", "the sign-off"),
        alternatives=("telling Diane in person first", "sending a shorter email version"),
        edge_cases=("they ask me to leave immediately", "they make a counter-offer"),
        draft="Dear Diane, I am writing to let you know that I am resigning. I have got a place at "
              "nursing school which I am very excited about. I will miss everyone. My last day "
              "will be in June.",
        answer="Dear Diane,\n\nPlease accept this letter as formal notice of my resignation from "
               "my position as Pharmacy Technician at Greenway Pharmacy. My last working day will "
               "be Friday 28 June.",
    ),
    _writing(
        id="A-write-ramen-review",
        thing="a restaurant review", the_thing="the review",
        request="write a review of the new ramen place on my street for my food blog",
        briefs=("ramen restaurant review for my blog", "food blog review of a new ramen shop",
                "review: new ramen place"),
        vague="a blog post",
        facts=("the place is called Kumo Ramen and it opened last month",
               "the tonkotsu broth was excellent but the gyoza were soggy",
               "we waited 40 minutes for a table",
               "a bowl costs £16"),
        constraints=("be honest but fair to a new business", "give a score out of ten",
                     "stay around 400 words"),
        audience="my blog readers, mostly locals in Leeds",
        tweaks=("add a short verdict at the top", "make it funnier", "describe the broth more"),
        concepts=("the opening about the queue", "the score", "the comparison with other ramen places"),
        alternatives=("using a listicle format", "waiting to review it after a second visit"),
        edge_cases=("the owner reads it", "they fix the gyoza next week"),
        draft="Kumo Ramen opened last month on Call Lane and I finally went on Saturday. The queue "
              "was long, about 40 minutes. The ramen was really good, especially the broth which "
              "was creamy and rich. The gyoza were not great though, kind of soggy.",
        answer="There is a particular kind of optimism in joining a 40-minute queue on a wet "
               "Saturday in Leeds. At Kumo Ramen, it is mostly rewarded.",
    ),
    _writing(
        id="A-write-pta-newsletter",
        thing="an intro for the school PTA newsletter", the_thing="the newsletter intro",
        request="write the opening letter for our school PTA's autumn newsletter",
        briefs=("pta newsletter intro, autumn", "school newsletter opening letter",
                "pta chair letter for the newsletter"),
        vague="something for the school",
        facts=("I'm the new PTA chair at Hillside Primary",
               "the summer fair raised £4,200",
               "we're spending it on new playground equipment",
               "we need volunteers for the Christmas market"),
        constraints=("be friendly and upbeat", "stay under 250 words",
                     "include the date of the next meeting, 14 October"),
        audience="parents and carers, some of whom read English as a second language",
        tweaks=("use simpler words", "add a line thanking the teachers",
                "make the volunteer request stand out"),
        concepts=("the opening greeting", "the sentence about the fair money", "the bold volunteer line"),
        alternatives=("doing a bullet-point version", "writing a shorter letter with a link"),
        edge_cases=("nobody volunteers", "parents translate it with an app"),
        draft="Dear parents, welcome back to a new school year. My name is Claire and I am the new "
              "chair of the PTA. The summer fair made £4,200 which is amazing. We need help with "
              "the Christmas market, please let us know.",
        answer="Dear parents and carers,\n\nWelcome back! I'm Claire, the new chair of the "
               "Hillside PTA, and I'm starting with good news: the summer fair raised £4,200, and "
               "every penny is going on new playground equipment.",
    ),
    _writing(
        id="A-write-birthday-poem",
        thing="a birthday poem for my grandma", the_thing="the poem",
        request="write a birthday poem for my grandma's 90th",
        briefs=("90th birthday poem for grandma", "poem for grandma turning 90",
                "short rhyming birthday poem"),
        vague="something for a birthday card",
        facts=("her name is Rosa and she grew up in Naples",
               "she still makes Sunday sauce for the whole family",
               "she has eleven grandchildren",
               "she loves dancing to Dean Martin"),
        constraints=("rhyme", "be short enough for a card", "be funny and sweet"),
        audience="Grandma and the whole family at the party",
        tweaks=("add a verse about the sauce", "make it rhyme better", "make it shorter"),
        concepts=("the rhyme scheme", "the line about Dean Martin", "the last couplet"),
        alternatives=("writing it in free verse", "writing it in Italian"),
        edge_cases=("someone reads it aloud at the party", "it doesn't fit in the card"),
        draft="Happy 90th birthday Grandma Rosa, you are the best. You make the best sauce in the "
              "world and you never rest. We all love you so much and we hope you have a great day.",
        answer="Ninety years since Naples, Rosa,\nand still the first one on the floor;\nwhen Dean "
               "Martin starts to croon,\nnot one of us can keep the score.",
    ),
)

# --------------------------------------------------------------------------
# Pool B, coding
# --------------------------------------------------------------------------
_B_CODING = (
    _coding(
        id="B-code-rust-wordcount", lang="Rust", fence="rust",
        thing="a Rust CLI that counts words", the_thing="the word counter",
        request="write a Rust command-line tool that counts word frequencies across text files",
        briefs=("rust cli for word frequency counts", "word count tool in rust w/ clap",
                "rust: count words across files"),
        vague="a little command-line tool",
        facts=("I'm using clap 4 with the derive feature",
               "the files are UTF-8 novels from Project Gutenberg",
               "I'm pretty new to the borrow checker",
               "it takes the file paths as arguments"),
        constraints=("print the top 20 words", "ignore case and punctuation",
                     "avoid panicking on a missing file"),
        audience="my reading group, who want stats on the books",
        tweaks=("add a --top flag", "output JSON", "process the files in parallel with rayon"),
        concepts=("entry().or_insert(0)", "to_lowercase()", "the ? operator"),
        alternatives=("using a BTreeMap", "reading the file line by line with BufReader"),
        edge_cases=("a word has an apostrophe like don't", "one of the files is empty"),
        draft="""let mut counts: HashMap<&str, usize> = HashMap::new();
for path in &args.files {
    let text = fs::read_to_string(path)?;
    for word in text.split_whitespace() {
        *counts.entry(word).or_insert(0) += 1;
    }
}""",
        error="""error[E0597]: `text` does not live long enough
  --> src/main.rs:18:21
   |
17 |         let text = fs::read_to_string(path)?;
   |             ---- binding `text` declared here
18 |         for word in text.split_whitespace() {
   |                     ^^^^ borrowed value does not live long enough
...
21 |     }
   |     - `text` dropped here while still borrowed""",
        error2="""error[E0277]: a value of type `Vec<(&String, &usize)>` cannot be built from an iterator over elements of type `(String, usize)`
  --> src/main.rs:25:60
   |
25 |     let mut top: Vec<(&String, &usize)> = counts.into_iter().collect();
   |                                                              ^^^^^^^ value of type `Vec<(&String, &usize)>` cannot be built from `std::iter::Iterator<Item=(String, usize)>`""",
        answer="""let mut counts: HashMap<String, usize> = HashMap::new();
for path in &args.files {
    let text = fs::read_to_string(path)?;
    for word in text.split(|c: char| !c.is_alphanumeric() && c != '\\'') {
        if !word.is_empty() {
            *counts.entry(word.to_lowercase()).or_insert(0) += 1;
        }
    }
}
let mut top: Vec<_> = counts.into_iter().collect();
top.sort_by(|a, b| b.1.cmp(&a.1));
top.truncate(20);""",
    ),
    _coding(
        id="B-code-go-shortener", lang="Go", fence="go",
        thing="a URL shortener server in Go", the_thing="the Go server",
        request="write a Go HTTP server for a URL shortener with a create endpoint and a redirect endpoint",
        briefs=("go url shortener http server", "url shortener in go, net/http",
                "go server: POST /shorten + redirect"),
        vague="a small web service",
        facts=("I only want the standard library net/http",
               "the codes should be 7 characters",
               "it'll run in a container behind nginx",
               "storage can be in memory for now"),
        constraints=("be safe for concurrent requests", "return 404 for unknown codes",
                     "check that the URL starts with http or https"),
        audience="our marketing team, for campaign links",
        tweaks=("add a hit counter per link", "persist the links to a JSON file",
                "add graceful shutdown"),
        concepts=("sync.RWMutex", "http.Redirect with StatusFound", "crypto/rand for the codes"),
        alternatives=("using gorilla/mux", "storing the links in Redis"),
        edge_cases=("two requests generate the same code", "someone posts an empty body"),
        draft="""func (s *Store) Save(url string) string {
    id := len(s.links) + 1
    s.links[id] = url
    return id
}""",
        error="""# shortener
./store.go:14:9: cannot use id (variable of type int) as string value in return statement
./main.go:42:21: cannot use code (variable of type string) as int value in map index""",
        error2="""fatal error: concurrent map writes

goroutine 37 [running]:
main.(*Store).Save(0xc000012090, {0xc0000a6000, 0x1c})
	/app/store.go:15 +0x8c
main.shortenHandler({0x7f3c20, 0xc0000f2000}, 0xc0000e4100)
	/app/main.go:31 +0x1b2""",
        answer="""type Store struct {
    mu    sync.RWMutex
    links map[string]string
}

func (s *Store) Save(url string) string {
    code := randomCode(7)
    s.mu.Lock()
    defer s.mu.Unlock()
    s.links[code] = url
    return code
}

func (s *Store) Get(code string) (string, bool) {
    s.mu.RLock()
    defer s.mu.RUnlock()
    url, ok := s.links[code]
    return url, ok
}""",
    ),
    _coding(
        id="B-code-kotlin-adapter", lang="Kotlin", fence="kotlin",
        thing="a RecyclerView adapter in Kotlin", the_thing="the adapter",
        request="write a Kotlin RecyclerView adapter that shows a list of plant care reminders",
        briefs=("kotlin recyclerview adapter for a reminders list", "android recyclerview adapter, kotlin",
                "adapter for the plant reminder list"),
        vague="a list screen in my app",
        facts=("it's a plant-watering reminder app",
               "I'm using view binding",
               "each reminder has a plant name, a photo and the next watering date",
               "the data comes from a Room database as a Flow"),
        constraints=("use ListAdapter with DiffUtil", "handle item clicks in the fragment",
                     "show 'today' instead of the date when a plant is due today"),
        audience="my mum and her gardening club, who are beta testing",
        tweaks=("add swipe to delete", "show an empty state", "group the reminders by day"),
        concepts=("DiffUtil.ItemCallback", "submitList", "the bind code in onBindViewHolder"),
        alternatives=("using a Jetpack Compose LazyColumn", "using a plain RecyclerView.Adapter"),
        edge_cases=("a plant has no photo", "the list updates while I'm scrolling"),
        draft="""class RemindersFragment : Fragment() {
    private lateinit var adapter: ReminderAdapter
    override fun onViewCreated(view: View, savedInstanceState: Bundle?) {
        viewModel.reminders.observe(viewLifecycleOwner) { adapter.submitList(it) }
        adapter = ReminderAdapter { openPlant(it) }
    }
}""",
        error="""FATAL EXCEPTION: main
Process: com.leafy.reminders, PID: 8841
kotlin.UninitializedPropertyAccessException: lateinit property adapter has not been initialized
	at com.leafy.reminders.ui.RemindersFragment.onViewCreated$lambda$0(RemindersFragment.kt:31)
	at androidx.lifecycle.LiveData.considerNotify(LiveData.java:133)""",
        error2="""E/RecyclerView: No adapter attached; skipping layout
E/RecyclerView: No adapter attached; skipping layout""",
        answer="""class ReminderAdapter(private val onClick: (Reminder) -> Unit) :
    ListAdapter<Reminder, ReminderAdapter.Holder>(Diff) {

    class Holder(val b: ItemReminderBinding) : RecyclerView.ViewHolder(b.root)

    override fun onCreateViewHolder(parent: ViewGroup, viewType: Int) =
        Holder(ItemReminderBinding.inflate(LayoutInflater.from(parent.context), parent, false))

    override fun onBindViewHolder(holder: Holder, position: Int) {
        val r = getItem(position)
        holder.b.plantName.text = r.plantName
        holder.b.root.setOnClickListener { onClick(r) }
    }

    object Diff : DiffUtil.ItemCallback<Reminder>() {
        override fun areItemsTheSame(a: Reminder, b: Reminder) = a.id == b.id
        override fun areContentsTheSame(a: Reminder, b: Reminder) = a == b
    }
}""",
    ),
    _coding(
        id="B-code-terraform-s3", lang="Terraform", fence="hcl",
        thing="a Terraform module for an S3 bucket", the_thing="the Terraform module",
        request="write a Terraform module that creates a private S3 bucket with versioning",
        briefs=("terraform s3 bucket module w/ versioning", "tf module for a private s3 bucket",
                "s3 bucket in terraform, versioned + encrypted"),
        vague="some cloud setup",
        facts=("we're on AWS provider 5.x",
               "the bucket holds nightly database dumps",
               "state lives in Terraform Cloud",
               "the team names buckets like acme-<env>-<purpose>"),
        constraints=("block all public access", "expire old versions after 90 days",
                     "take the environment as a variable"),
        audience="the platform team that reviews every PR",
        tweaks=("add outputs for the bucket ARN", "enable KMS encryption", "add tags for cost tracking"),
        concepts=("the separate aws_s3_bucket_versioning resource", "the lifecycle rule filter",
                  "aws_s3_bucket_public_access_block"),
        alternatives=("using the community s3-bucket module", "using CloudFormation"),
        edge_cases=("the bucket name is already taken", "someone runs destroy on prod"),
        draft="""resource "aws_s3_bucket" "dumps" {
  bucket = "acme-${var.env}-db-dumps"
  acl    = "private"
  versioning {
    enabled = true
  }
}""",
        error="""╷
│ Error: Unsupported block type
│
│   on modules/dumps/main.tf line 4, in resource "aws_s3_bucket" "dumps":
│    4:   versioning {
│
│ Blocks of type "versioning" are not expected here.
╵""",
        error2="""╷
│ Error: creating S3 Bucket (acme-prod-db-dumps): BucketAlreadyExists: The requested bucket name is not available.
│ 	status code: 409
│
│   with module.dumps.aws_s3_bucket.dumps,
│   on modules/dumps/main.tf line 1, in resource "aws_s3_bucket" "dumps":
╵""",
        answer="""resource "aws_s3_bucket" "dumps" {
  bucket = "acme-${var.env}-db-dumps"
}

resource "aws_s3_bucket_versioning" "dumps" {
  bucket = aws_s3_bucket.dumps.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "dumps" {
  bucket                  = aws_s3_bucket.dumps.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}""",
    ),
    _coding(
        id="B-code-dockerfile-node", lang="Docker", fence="dockerfile",
        thing="a Dockerfile for a Node.js app", the_thing="the Dockerfile",
        request="write a multi-stage Dockerfile for our Node.js API",
        briefs=("dockerfile for node api, multi-stage", "node 20 dockerfile, small image",
                "containerize the node app"),
        vague="a container setup",
        facts=("it's an Express API written in TypeScript",
               "the build output goes to dist/",
               "we use npm with a package-lock.json",
               "the app listens on port 8080"),
        constraints=("run as a non-root user", "keep the final image under 200 MB",
                     "avoid copying node_modules from my machine"),
        audience="the ops person who deploys it to our VPS",
        tweaks=("add a healthcheck", "add a .dockerignore", "use alpine for the runtime stage"),
        concepts=("npm ci", "the second FROM", "USER node"),
        alternatives=("using a distroless image", "using docker compose for local dev"),
        edge_cases=("the build needs a private npm package", "the container gets a SIGTERM"),
        draft="""FROM node:20
COPY package.json .
RUN npm install
COPY src ./src
CMD ["node", "dist/index.js"]""",
        error=""" => ERROR [builder 4/6] RUN npm run build                              3.2s
------
 > [builder 4/6] RUN npm run build:
0.912 > api@1.4.0 build
0.912 > tsc -p tsconfig.json
2.988 error TS5058: The specified path does not exist: 'tsconfig.json'.
------
ERROR: failed to solve: process "/bin/sh -c npm run build" did not complete successfully: exit code: 2""",
        error2="""node:internal/modules/cjs/loader:1080
  throw err;
  ^

Error: Cannot find module '/app/dist/index.js'
    at Module._resolveFilename (node:internal/modules/cjs/loader:1077:15)
    at Module._load (node:internal/modules/cjs/loader:922:27)""",
        answer="""FROM node:20-slim AS builder
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci
COPY src ./src
RUN npm run build

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=builder /app/package*.json ./
RUN npm ci --omit=dev
COPY --from=builder /app/dist ./dist
USER node
EXPOSE 8080
CMD ["node", "dist/index.js"]""",
    ),
    _coding(
        id="B-code-swiftui-trails", lang="Swift", fence="swift",
        thing="a SwiftUI list that loads images", the_thing="the SwiftUI view",
        request="build a SwiftUI list of hiking trails that loads each trail's photo asynchronously",
        briefs=("swiftui list w/ async images", "hiking trail list in swiftui",
                "swiftui asyncimage list from json"),
        vague="a screen for my iPhone app",
        facts=("the trails come from a JSON endpoint",
               "I'm targeting iOS 16",
               "each trail has a name, a length in km and a photoURL",
               "some photoURLs are empty strings"),
        constraints=("show a placeholder while loading", "support pull to refresh",
                     "keep the network work off the main thread"),
        audience="people in my local hiking club",
        tweaks=("add a search bar", "sort the trails by length", "cache the images"),
        concepts=("AsyncImage", "the .task modifier", "@MainActor"),
        alternatives=("using Kingfisher", "using UIKit with a UITableView"),
        edge_cases=("the phone is offline", "a photo URL is broken"),
        draft="""struct TrailRow: View {
    let trail: Trail
    var body: some View {
        AsyncImage(url: URL(string: trail.photoURL)!)
        Text(trail.name)
    }
}""",
        error="""Thread 1: Fatal error: Unexpectedly found nil while unwrapping an Optional value
TrailsApp/TrailRow.swift:14: Fatal error: Unexpectedly found nil while unwrapping an Optional value""",
        error2="""[SwiftUI] Publishing changes from background threads is not allowed; make sure to publish values from the main thread (via operators like receive(on:)) on model updates.""",
        answer="""struct TrailRow: View {
    let trail: Trail

    var body: some View {
        HStack {
            AsyncImage(url: URL(string: trail.photoURL)) { image in
                image.resizable().scaledToFill()
            } placeholder: {
                Color.gray.opacity(0.2)
            }
            .frame(width: 64, height: 64)
            .clipShape(RoundedRectangle(cornerRadius: 8))
            Text(trail.name)
        }
    }
}""",
    ),
    _coding(
        id="B-code-unity-movement", lang="C#", fence="csharp",
        thing="a Unity player movement script", the_thing="the movement script",
        request="write a Unity C# script for player movement with jumping",
        briefs=("unity c# player movement + jump", "player controller for unity with jump",
                "2d platformer movement script"),
        vague="a game thing",
        facts=("it's a 2D platformer in Unity 2022.3",
               "the player has a Rigidbody2D and a BoxCollider2D",
               "the ground tiles are on a layer called Ground",
               "I use the old Input Manager"),
        constraints=("prevent double jumps", "do the physics in FixedUpdate",
                     "expose the speed in the Inspector"),
        audience="my game jam team",
        tweaks=("add coyote time", "make the jump higher when the button is held",
                "flip the sprite when moving left"),
        concepts=("Physics2D.OverlapCircle", "[SerializeField]", "rb.velocity"),
        alternatives=("using the new Input System", "using a CharacterController"),
        edge_cases=("the player walks off a ledge", "the frame rate drops"),
        draft="""public class PlayerController : MonoBehaviour {
    Rigidbody2D rb;
    void Update() {
        float x = Input.GetAxis("Horizontal");
        rb.velocity = new Vector2(x * 6f, rb.velocity.y);
    }
}""",
        error="""NullReferenceException: Object reference not set to an instance of an object
PlayerController.Update () (at Assets/Scripts/PlayerController.cs:27)""",
        error2="""Assets/Scripts/PlayerController.cs(34,13): error CS0103: The name 'isGrounded' does not exist in the current context""",
        answer="""public class PlayerController : MonoBehaviour {
    [SerializeField] float speed = 6f, jumpForce = 12f;
    [SerializeField] Transform groundCheck;
    [SerializeField] LayerMask groundLayer;
    Rigidbody2D rb;
    float x;
    bool jump;

    void Awake() => rb = GetComponent<Rigidbody2D>();

    void Update() {
        x = Input.GetAxisRaw("Horizontal");
        if (Input.GetButtonDown("Jump") && Grounded()) jump = true;
    }

    void FixedUpdate() {
        rb.velocity = new Vector2(x * speed, jump ? jumpForce : rb.velocity.y);
        jump = false;
    }

    bool Grounded() => Physics2D.OverlapCircle(groundCheck.position, 0.1f, groundLayer);
}""",
    ),
    _coding(
        id="B-code-ts-debounce", lang="TypeScript", fence="ts",
        thing="a generic debounce helper in TypeScript", the_thing="the debounce function",
        request="write a type-safe generic debounce function in TypeScript",
        briefs=("ts generic debounce", "typescript debounce util with proper types",
                "debounce fn, strict ts"),
        vague="a utility function",
        facts=("we have strict mode on in tsconfig",
               "it's for a search box that calls our API",
               "we can't add lodash because of bundle size",
               "the team is on TypeScript 5.3"),
        constraints=("keep the argument types of the wrapped function", "have a cancel method",
                     "avoid any"),
        audience="the rest of the frontend team, who'll reuse it",
        tweaks=("add a leading-edge option", "return a promise", "add unit tests with vitest"),
        concepts=("the A extends unknown[] constraint", "ReturnType<typeof setTimeout>", "debounced.cancel"),
        alternatives=("using lodash.debounce", "using a React hook instead"),
        edge_cases=("the function is called again after cancel", "the wait time is 0"),
        draft="""export function debounce<T extends Function>(fn: T, wait: number) {
  let timer: number;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}""",
        error="""src/utils/debounce.ts:3:11 - error TS7019: Rest parameter 'args' implicitly has an 'any[]' type.

3   return (...args) => {
            ~~~~~~~

src/utils/debounce.ts:5:5 - error TS2322: Type 'Timeout' is not assignable to type 'number'.

Found 2 errors in the same file, starting at: src/utils/debounce.ts:3""",
        error2="""src/components/SearchBox.tsx:22:28 - error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'.

22   const search = debounce((q: string) => fetchResults(q), 300);""",
        answer="""export function debounce<A extends unknown[]>(fn: (...args: A) => void, wait: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const debounced = (...args: A) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
  debounced.cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
  };
  return debounced;
}""",
    ),
    _coding(
        id="B-code-arduino-dht", lang="Arduino C++", fence="cpp",
        thing="an Arduino sketch for a temperature sensor", the_thing="the sketch",
        request="write an Arduino sketch that reads a DHT22 sensor and shows the temperature on an LCD",
        briefs=("arduino dht22 + lcd sketch", "temp sensor to 16x2 lcd, arduino",
                "dht22 reading shown on an lcd"),
        vague="an electronics project",
        facts=("it's an Arduino Uno",
               "the sensor's data pin is on D2",
               "the LCD is a 16x2 with an I2C backpack at 0x27",
               "it's for the greenhouse on my allotment"),
        constraints=("update every two seconds", "show the humidity too",
                     "switch on a relay on D7 above 30 degrees"),
        audience="the other allotment holders who check the greenhouse",
        tweaks=("log the readings to an SD card", "add a buzzer alarm",
                "show the min and max since power-on"),
        concepts=("the isnan() check", "lcd.backlight()", "millis() instead of delay()"),
        alternatives=("using a DS18B20 sensor", "switching to an ESP32 so it can send data over wifi"),
        edge_cases=("the sensor gets unplugged", "the temperature goes below zero"),
        draft="""#include <LiquidCrystal_I2C.h>
DHT dht(2, DHT22);
LiquidCrystal_I2C lcd(0x27, 16, 2);
void setup() { dht.begin(); lcd.init(); }""",
        error="""greenhouse:2:1: error: 'DHT' does not name a type
 DHT dht(2, DHT22);
 ^~~
greenhouse.ino: In function 'void setup()':
greenhouse:4:16: error: 'dht' was not declared in this scope
exit status 1

Compilation error: 'DHT' does not name a type""",
        error2="""Failed to read from DHT sensor!
Temp: nan C  Hum: nan %
Failed to read from DHT sensor!""",
        answer="""#include <DHT.h>
#include <LiquidCrystal_I2C.h>

DHT dht(2, DHT22);
LiquidCrystal_I2C lcd(0x27, 16, 2);
unsigned long last = 0;

void setup() {
  dht.begin();
  lcd.init();
  lcd.backlight();
  pinMode(7, OUTPUT);
}

void loop() {
  if (millis() - last < 2000) return;
  last = millis();
  float t = dht.readTemperature(), h = dht.readHumidity();
  if (isnan(t) || isnan(h)) { lcd.print("Sensor error"); return; }
  lcd.setCursor(0, 0); lcd.print("T "); lcd.print(t, 1); lcd.print(" C");
  lcd.setCursor(0, 1); lcd.print("H "); lcd.print(h, 0); lcd.print(" %");
  digitalWrite(7, t > 30 ? HIGH : LOW);
}""",
    ),
    _coding(
        id="B-code-r-ggplot", lang="R", fence="r",
        thing="an R ggplot of trial results", the_thing="the plot",
        request="make a ggplot in R showing blood pressure change by dose group over time",
        briefs=("ggplot of bp change by dose over time", "r ggplot trial results by dose group",
                "line plot, mean bp change per dose, ggplot2"),
        vague="a chart for some data",
        facts=("the data frame has patient_id, dose_mg, week and sbp_change",
               "there are four dose groups including placebo",
               "it goes into a paper draft",
               "the measurements are at weeks 0, 4, 8 and 12"),
        constraints=("show means with 95% confidence intervals", "use a colourblind-safe palette",
                     "export as a 300 dpi TIFF"),
        audience="the journal's reviewers",
        tweaks=("facet by sex", "label the placebo line directly", "put the legend at the bottom"),
        concepts=("stat_summary", "factor(dose_mg)", "position_dodge"),
        alternatives=("using base R plot", "using a boxplot per week"),
        edge_cases=("a patient dropped out at week 8", "the placebo group has dose_mg = 0"),
        draft="""library(ggplot2)
ggplot(trial, aes(x = week, y = sbp_change, colour = dose)) +
  geom_line()""",
        error="""Error in `geom_line()`:
! Problem while computing aesthetics.
ℹ Error occurred in the 1st layer.
Caused by error:
! object 'dose' not found
Run `rlang::last_trace()` to see where the error occurred.""",
        error2="""Error in `scale_colour_brewer()`:
! Continuous values supplied to discrete scale.
ℹ Example values: 0, 0, 0, 0, and 0""",
        answer="""library(ggplot2)

ggplot(trial, aes(week, sbp_change, colour = factor(dose_mg))) +
  stat_summary(fun = mean, geom = "line", position = position_dodge(0.4)) +
  stat_summary(fun.data = mean_cl_normal, geom = "errorbar", width = 0.6,
               position = position_dodge(0.4)) +
  scale_colour_viridis_d(name = "Dose (mg)") +
  labs(x = "Week", y = "Change in systolic BP (mmHg)") +
  theme_minimal()
ggsave("figure2.tiff", dpi = 300, width = 7, height = 4.5)""",
    ),
    _coding(
        id="B-code-k8s-deployment", lang="Kubernetes YAML", fence="yaml",
        thing="a Kubernetes Deployment manifest", the_thing="the manifest",
        request="write a Kubernetes Deployment and Service for our payments worker",
        briefs=("k8s deployment + service for the payments worker", "kubernetes yaml for a worker deployment",
                "deployment manifest with probes"),
        vague="some deployment config",
        facts=("the image is registry.internal/payments-worker:2.3.1",
               "it exposes metrics on port 9100",
               "the cluster is EKS 1.28",
               "it reads the DB password from a secret called payments-db"),
        constraints=("run 3 replicas", "set CPU and memory limits",
                     "have a readiness probe on /ready"),
        audience="the on-call SREs",
        tweaks=("add a HorizontalPodAutoscaler", "add a PodDisruptionBudget",
                "spread the pods across zones"),
        concepts=("the selector labels", "secretKeyRef", "the readinessProbe"),
        alternatives=("using a Helm chart", "using a StatefulSet"),
        edge_cases=("the secret doesn't exist yet", "a node gets drained"),
        draft="""      containers:
        - name: worker
          image: registry.internal/payments-worker:2.3.1
          ports:
            - containerPort: "9100\"""",
        error="""error: error validating "deploy.yaml": error validating data: ValidationError(Deployment.spec.template.spec.containers[0].ports[0].containerPort): invalid type for io.k8s.api.core.v1.ContainerPort.containerPort: got "string", expected "integer"; if you choose to ignore these errors, turn validation off with --validate=false""",
        error2="""The Deployment "payments-worker" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"payments"}: `selector` does not match template `labels`""",
        answer="""apiVersion: apps/v1
kind: Deployment
metadata:
  name: payments-worker
spec:
  replicas: 3
  selector:
    matchLabels: {app: payments-worker}
  template:
    metadata:
      labels: {app: payments-worker}
    spec:
      containers:
        - name: worker
          image: registry.internal/payments-worker:2.3.1
          ports:
            - containerPort: 9100
          readinessProbe:
            httpGet: {path: /ready, port: 9100}
          resources:
            limits: {cpu: 500m, memory: 512Mi}
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: {name: payments-db, key: password}""",
    ),
    _coding(
        id="B-code-laravel-register", lang="PHP", fence="php",
        thing="a Laravel controller for user registration", the_thing="the registration controller",
        request="write a Laravel controller method that validates the signup form and registers users",
        briefs=("laravel register controller + validation", "php laravel user signup controller",
                "laravel store() for new users"),
        vague="a signup page in PHP",
        facts=("it's Laravel 10 with MySQL",
               "users sign up with a name, email and password",
               "we send a welcome email after signup",
               "some people double-click the submit button"),
        constraints=("reject duplicate emails with a friendly message", "hash the password",
                     "redirect to /dashboard after signup"),
        audience="members joining our climbing gym's booking site",
        tweaks=("queue the welcome email", "add a phone number field", "log the user in right away"),
        concepts=("$request->validate", "Hash::make", "the unique:users rule"),
        alternatives=("using Laravel Breeze", "using a Form Request class"),
        edge_cases=("the email has uppercase letters", "the mail server is down"),
        draft="""public function store(Request $request)
{
    $user = User::create($request->all());
    Mail::to($user)->send(new WelcomeMail($user));
    return redirect('/dashboard');
}""",
        error="""Illuminate\\Database\\QueryException
SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry 'ana.silva@example.org' for key 'users_email_unique' (Connection: mysql, SQL: insert into `users` (`name`, `email`, `password`, `updated_at`, `created_at`) values (Ana Silva, ana.silva@example.org, secret123, 2024-03-02 18:21:07, 2024-03-02 18:21:07))
at vendor/laravel/framework/src/Illuminate/Database/Connection.php:801""",
        error2="""Symfony\\Component\\Mailer\\Exception\\TransportException
Connection could not be established with host "smtp.mailgun.org:587": stream_socket_client(): unable to connect to smtp.mailgun.org:587 (Connection timed out)""",
        answer="""public function store(Request $request)
{
    $data = $request->validate([
        'name' => ['required', 'string', 'max:255'],
        'email' => ['required', 'email', 'unique:users,email'],
        'password' => ['required', 'min:10'],
    ], ['email.unique' => 'That email already has an account. Try logging in instead.']);

    $user = User::create([...$data, 'password' => Hash::make($data['password'])]);
    Mail::to($user)->queue(new WelcomeMail($user));
    return redirect('/dashboard');
}""",
    ),
)

# --------------------------------------------------------------------------
# Pool B, writing
# --------------------------------------------------------------------------
_B_WRITING = (
    _writing(
        id="B-write-grant-abstract",
        thing="a grant abstract", the_thing="the abstract",
        request="write a 250-word abstract for a grant proposal on soil fungi and drought",
        briefs=("grant abstract, soil fungi + drought", "250 word abstract for a research grant",
                "abstract for an agriculture grant proposal"),
        vague="a research thing",
        facts=("we study how soil fungi help wheat survive drought",
               "our pilot found 30% higher yield with inoculated seed",
               "the grant is from a national agriculture fund",
               "we're partnering with three farms in Kansas"),
        constraints=("stay under 250 words", "state the broader impacts",
                     "avoid jargon that reviewers outside microbiology won't know"),
        audience="a mixed review panel of agronomists and economists",
        tweaks=("make the aims more concrete", "cut the background sentence",
                "add the farm partnership"),
        concepts=("the opening problem statement", "the numbered aims", "the impact sentence"),
        alternatives=("starting with the pilot result", "writing a more technical version"),
        edge_cases=("a reviewer thinks the pilot was too small", "the word limit includes the title"),
        draft="Drought is a major problem for agriculture. In this project we will study arbuscular "
              "mycorrhizal fungi (AMF) and their role in drought tolerance of Triticum aestivum. "
              "Preliminary data suggest inoculation increases yield. We will do field trials and "
              "greenhouse experiments.",
        answer="Drought already costs wheat farmers billions each year, and dry seasons are "
               "becoming more frequent. In a pilot study, wheat grown from seed coated with "
               "beneficial soil fungi yielded 30% more under drought than untreated wheat.",
    ),
    _writing(
        id="B-write-eulogy",
        thing="a eulogy for my uncle", the_thing="the eulogy",
        request="write a eulogy for my uncle Frank's funeral",
        briefs=("eulogy for my uncle", "funeral speech for uncle frank", "short eulogy, about 4 min"),
        vague="something I have to say at a service",
        facts=("Frank was a lobster fisherman in Maine for forty years",
               "he taught every kid in the family to tie a bowline",
               "he was gruff but left anonymous gifts at the food bank",
               "he died at 78 after a short illness"),
        constraints=("take about four minutes to read aloud", "include one funny story",
                     "stay non-religious"),
        audience="family, fishermen from the harbour and people from the food bank",
        tweaks=("add the story about the runaway lobster boat", "make the ending less formal",
                "shorten the middle"),
        concepts=("the opening line", "the bowline image", "the harbour ending"),
        alternatives=("starting with the funny story", "reading a poem at the end"),
        edge_cases=("I break down while reading it", "his ex-wife is there"),
        draft="Frank was my uncle and he was a fisherman for forty years. He could be grumpy but "
              "he had a good heart. He taught me how to tie knots and how to be patient. We will "
              "all miss him very much.",
        answer="Most of us in this room can tie a bowline, and most of us learned it from Frank, "
               "standing on a cold dock while he sighed at our first six attempts.",
    ),
    _writing(
        id="B-write-museum-label",
        thing="museum label text", the_thing="the label",
        request="write the wall text for a Bronze Age sword in our museum's new gallery",
        briefs=("museum label for a bronze age sword", "wall text for a sword exhibit",
                "exhibit label, 80 words"),
        vague="a small text for an exhibit",
        facts=("the sword was found in the River Trent in 1984",
               "it's about 3,000 years old",
               "it was probably thrown into the river on purpose as an offering",
               "the hilt still has traces of its wooden grip"),
        constraints=("stay under 80 words", "be readable for a 12-year-old",
                     "end with a question for the visitor"),
        audience="families and school groups visiting the gallery",
        tweaks=("add a line for kids", "make the first sentence more vivid", "include the find date"),
        concepts=("the question at the end", "the word 'offering'", "the first sentence"),
        alternatives=("writing it in the sword's own voice", "splitting it into two short labels"),
        edge_cases=("a visitor only reads the first line", "an archaeologist disagrees about the offering"),
        draft="Bronze Age sword, c. 1000 BC. Found in the River Trent in 1984. Copper alloy. This "
              "sword was probably deposited in the river deliberately as a votive offering, a "
              "common practice in the Late Bronze Age.",
        answer="Three thousand years ago, someone threw this sword into the River Trent on "
               "purpose. Swords were precious, so why give one to a river?",
    ),
    _writing(
        id="B-write-bikeshare-release",
        thing="a press release for a bike-share launch", the_thing="the press release",
        request="write a press release announcing our city's new e-bike share scheme",
        briefs=("press release for an e-bike share launch", "bike share launch press release",
                "press release for the city e-bike scheme"),
        vague="an announcement",
        facts=("the scheme is called Pedal Porto and launches on 1 May",
               "there are 400 e-bikes at 60 stations",
               "rides cost €1 to unlock plus €0.15 a minute",
               "it's run by the city with a company called Vela Mobility"),
        constraints=("include a quote from the mayor", "put the key facts in the first paragraph",
                     "stay under 400 words"),
        audience="local journalists and news sites",
        tweaks=("add a notes-to-editors section", "make the headline punchier",
                "add a quote from a commuter"),
        concepts=("the headline", "the mayor's quote", "the boilerplate at the end"),
        alternatives=("leading with the environmental angle", "using a shorter news-brief format"),
        edge_cases=("a journalist only reads the headline", "the launch date slips"),
        draft="The city is pleased to announce a new bike share scheme. Pedal Porto will launch "
              "soon with many e-bikes across the city. It is a great way to get around and good "
              "for the environment. More information will be available on the website.",
        answer="For immediate release\n\nPorto launches 400-bike electric share scheme on 1 May\n\n"
               "From 1 May, anyone in Porto can unlock one of 400 electric bikes at 60 stations "
               "across the city for €1, plus €0.15 a minute.",
    ),
    _writing(
        id="B-write-podcast-blurb",
        thing="a podcast episode description", the_thing="the episode description",
        request="write a description for our podcast episode about urban beekeeping",
        briefs=("podcast ep description, urban beekeeping", "show notes blurb for the bees episode",
                "episode summary for spotify"),
        vague="some text for our show",
        facts=("the show is called Small Wild City",
               "the guest is Marta Kowalczyk, who keeps hives on hotel roofs in Warsaw",
               "we talk about honey theft and pesticide bans",
               "the episode is 48 minutes long"),
        constraints=("hook people in the first line", "stay under 100 words",
                     "include the guest's name and one surprising fact"),
        audience="listeners browsing on Spotify and Apple Podcasts",
        tweaks=("add timestamps", "make it funnier", "add a call to subscribe"),
        concepts=("the hook", "the honey theft line", "the guest intro"),
        alternatives=("opening with a question", "using a list of topics instead"),
        edge_cases=("the preview cuts off after 150 characters", "listeners think it's a gardening show"),
        draft="In this episode we talk to Marta Kowalczyk about urban beekeeping. Marta keeps bees "
              "on hotel roofs in Warsaw. We talk about a lot of things including honey theft and "
              "pesticides. Enjoy!",
        answer="Someone stole 40 kilos of honey from a hotel roof in Warsaw, and Marta Kowalczyk "
               "has a theory about who did it.",
    ),
    _writing(
        id="B-write-talk-proposal",
        thing="a conference talk proposal", the_thing="the talk proposal",
        request="write a conference talk proposal about migrating a monolith to event-driven services",
        briefs=("talk proposal: monolith -> events", "cfp abstract about an event-driven migration",
                "conference proposal for a 30 min talk"),
        vague="a proposal for an event",
        facts=("we migrated the ticketing monolith at Railhop over 18 months",
               "we broke production twice and learned a lot from it",
               "the conference is a mid-size backend engineering event",
               "the slot is 30 minutes"),
        constraints=("include three concrete takeaways", "be honest about the failures",
                     "stay under 300 words"),
        audience="the programme committee, and then attendees picking talks",
        tweaks=("make the title catchier", "add a short bio", "cut the buzzwords"),
        concepts=("the title", "the takeaways list", "the part about the outages"),
        alternatives=("doing a more technical deep dive", "proposing a workshop instead"),
        edge_cases=("the committee thinks it's a vendor pitch", "the talk runs over 30 minutes"),
        draft="In this talk I will discuss how we migrated our monolith to an event-driven "
              "architecture. I will cover the challenges we faced and lessons learned. Attendees "
              "will learn best practices for event-driven architecture and microservices.",
        answer="Title: We Broke Production Twice So You Don't Have To\n\nOver 18 months, Railhop "
               "moved its ticketing monolith to event-driven services. This talk is the honest "
               "version of that story.",
    ),
    _writing(
        id="B-write-shelter-appeal",
        thing="a fundraising letter for an animal shelter", the_thing="the fundraising letter",
        request="write a fundraising letter for our animal shelter's winter appeal",
        briefs=("fundraising letter for an animal shelter", "donation appeal letter, winter",
                "shelter winter appeal"),
        vague="a letter asking for money",
        facts=("we're Second Paw Rescue in Cork",
               "we took in 212 dogs and cats last year",
               "the kennel heating broke and costs €9,000 to replace",
               "a €25 donation feeds a dog for a month"),
        constraints=("tell one animal's story", "have a clear ask with amounts", "fit on one page"),
        audience="past donors, many of them older people who adopted from us",
        tweaks=("use Biscuit the greyhound as the story", "add a P.S.", "make the ask more direct"),
        concepts=("the opening story about one animal", "the P.S.", "the donation amounts"),
        alternatives=("sending a shorter email version", "leading with the heating problem"),
        edge_cases=("people feel guilt-tripped", "we raise more than we need"),
        draft="Dear friend, Second Paw Rescue needs your help this winter. Our heating has broken "
              "and it will cost €9,000 to fix. We look after hundreds of animals every year and we "
              "can't do it without you. Please donate.",
        answer="Dear friend,\n\nWhen Biscuit arrived at Second Paw last November, she was shaking "
               "so hard she couldn't stand. This winter, our kennels are almost as cold as the "
               "night we found her.",
    ),
    _writing(
        id="B-write-grinder-manual",
        thing="a user manual section for a coffee grinder", the_thing="the manual section",
        request="write the cleaning section of the user manual for our burr coffee grinder",
        briefs=("manual section: cleaning the coffee grinder", "user manual, how to clean a burr grinder",
                "cleaning instructions for the grinder"),
        vague="some product documentation",
        facts=("the grinder is the Mirra B2 with conical steel burrs",
               "the upper burr twists out without tools",
               "water damages the motor housing",
               "people should clean it every two weeks"),
        constraints=("use numbered steps", "put the safety warning first",
                     "use plain words for a non-technical reader"),
        audience="home coffee drinkers who just unboxed it",
        tweaks=("add a troubleshooting tip", "make the warning stand out", "shorten step 3"),
        concepts=("the order of the steps", "the warning box", "the word 'burr'"),
        alternatives=("making a picture-based guide", "writing a short video script"),
        edge_cases=("someone puts the burr in the dishwasher", "a bean is stuck in the chute"),
        draft="To clean the grinder first unplug it. Then take out the hopper and the upper burr. "
              "Use the brush to clean. Do not use water. Put it back together.",
        answer="Cleaning your Mirra B2\n\nWarning: unplug the grinder before cleaning, and never "
               "rinse any part of the base with water.\n\n1. Empty the hopper and lift it off.",
    ),
    _writing(
        id="B-write-magazine-pitch",
        thing="a pitch email to a magazine editor", the_thing="the pitch",
        request="write a cold pitch email to a travel magazine editor for a story about night trains",
        briefs=("cold pitch to a travel magazine, night trains", "pitch email to an editor, night train story",
                "freelance travel pitch"),
        vague="an email to an editor",
        facts=("I'm a freelance writer in Vienna",
               "the story follows the new Vienna to Paris night train",
               "I've written for two regional newspapers",
               "the editor is Sam Reyes at Wayfare"),
        constraints=("stay under 200 words", "include a working headline", "explain why now"),
        audience="Sam Reyes, a busy editor who gets hundreds of pitches",
        tweaks=("make the subject line stronger", "add a line about photos", "cut my bio down"),
        concepts=("the subject line", "the 'why now' sentence", "the mention of my clips"),
        alternatives=("pitching a listicle instead", "following up on social media"),
        edge_cases=("the editor doesn't reply", "they already covered night trains last year"),
        draft="Dear Sam, my name is Lena and I am a freelance writer based in Vienna. I would love "
              "to write an article for Wayfare about night trains. Night trains are becoming "
              "popular again in Europe. I think your readers would enjoy it.",
        answer="Subject: Pitch: Falling asleep in Vienna, waking up in Paris\n\nHi Sam,\n\nThe new "
               "Vienna to Paris sleeper is the first direct night train between the two cities in "
               "a decade, and I'd like to ride it for Wayfare.",
    ),
    _writing(
        id="B-write-retirement-speech",
        thing="a retirement party speech", the_thing="the retirement speech",
        request="write a speech for my colleague Gerald's retirement party",
        briefs=("retirement speech for a colleague", "speech for Gerald's retirement",
                "short funny retirement speech"),
        vague="a speech for someone at work",
        facts=("Gerald worked in our council planning office for 34 years",
               "he's famous for his terrible puns",
               "he's retiring to restore a narrowboat",
               "he trained almost everyone on the team"),
        constraints=("be about two minutes long", "include at least one pun", "keep things light"),
        audience="about 40 colleagues in the office canteen",
        tweaks=("add a narrowboat pun", "end with a toast", "make it more heartfelt"),
        concepts=("the opening pun", "the part about training people", "the narrowboat ending"),
        alternatives=("writing a group card message instead", "reading out a list of Gerald's best puns"),
        edge_cases=("the pun falls flat", "Gerald hates being the centre of attention"),
        draft="Gerald has been here for 34 years which is longer than some of us have been alive. "
              "He has trained most of us and always had a joke ready, even if they were terrible. "
              "We will miss him a lot. Enjoy your retirement Gerald.",
        answer="For thirty-four years, Gerald has been the person we went to when a planning "
               "application made no sense. He always had an answer, and usually a pun we hadn't "
               "asked for.",
    ),
    _writing(
        id="B-write-garden-flyer",
        thing="a volunteer flyer for a community garden", the_thing="the flyer",
        request="write the text for a flyer recruiting volunteers for our community garden",
        briefs=("volunteer flyer for the community garden", "flyer text, garden volunteers",
                "recruitment flyer for the garden project"),
        vague="a flyer",
        facts=("the garden is on Elm Street behind the library",
               "we meet on Saturdays from 10 to 12",
               "no experience is needed and we lend tools",
               "last year we grew 300 kg of vegetables for the food pantry"),
        constraints=("fit on an A5 flyer", "include a line for the QR code",
                     "sound welcoming to teenagers and retirees alike"),
        audience="neighbours walking past the library noticeboard",
        tweaks=("add a catchy headline", "make it shorter", "mention the free lunch"),
        concepts=("the headline", "the 300 kg line", "the call to action"),
        alternatives=("making a poster with mostly pictures", "doing an Instagram version"),
        edge_cases=("it rains on a Saturday", "someone uses a wheelchair"),
        draft="Volunteers needed! The Elm Street Community Garden is looking for volunteers. We "
              "meet on Saturdays from 10 to 12. No experience needed. Come and join us.",
        answer="Grow food. Meet neighbours. Get your hands dirty.\n\nThe Elm Street Community "
               "Garden grew 300 kg of vegetables for the food pantry last year, and we'd love your "
               "help to beat that.",
    ),
    _writing(
        id="B-write-self-review",
        thing="a self-assessment for my performance review", the_thing="the self-assessment",
        request="write my self-assessment for this year's performance review",
        briefs=("self assessment for my performance review", "performance review self-eval",
                "annual review self-assessment"),
        vague="some work paperwork",
        facts=("I'm a customer support team lead at a software company",
               "we cut our average response time from 9 hours to 3",
               "I onboarded four new hires",
               "I missed my goal of launching the help-centre redesign"),
        constraints=("stay under 400 words", "be honest about the missed goal",
                     "use numbers where possible"),
        audience="my manager and the calibration committee",
        tweaks=("add a section on next year's goals", "sound less modest", "cut the onboarding part"),
        concepts=("the response time at the top", "the wording about the missed goal", "the goals section"),
        alternatives=("using bullet points instead of paragraphs", "using the STAR format for each item"),
        edge_cases=("my manager disagrees about the missed goal", "the committee only skims it"),
        draft="This year I think I did a good job leading the support team. We improved response "
              "times a lot and I helped with onboarding new people. The help centre redesign did "
              "not happen because of other priorities. Next year I want to do better.",
        answer="This year my main focus was speed: the team cut our average first-response time "
               "from 9 hours to 3 while handling 20% more tickets.",
    ),
)

TOPIC_POOLS: dict[str, TopicPool] = {
    "A": TopicPool("A", _A_CODING, _A_WRITING),
    "B": TopicPool("B", _B_CODING, _B_WRITING),
}
