"""The demo users' logins, importable without Django set up: `scripts/stack.py` prints them
beside the console's address; `accounts.demo` creates the users with them."""

DEMO_PASSWORD = "demo-password"
# tenant<N> for each demo tenant (accounts.demo.DEMO_TENANTS), then the staff (DEMO_STAFF)
DEMO_USERNAMES = ("tenant1", "tenant2", "tenant3", "operator", "finance", "admin")
