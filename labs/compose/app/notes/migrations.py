"""The schema, as an ordered list of (name, {engine: [statements]})."""

MIGRATIONS = [
    (
        "0001_notes",
        {
            "postgres": [
                "CREATE TABLE notes (id SERIAL PRIMARY KEY, text VARCHAR(500) NOT NULL,"
                " created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            ],
            "sqlite": [
                "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, text VARCHAR(500) NOT NULL,"
                " created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            ],
        },
    ),
    (
        "0002_notes_created_at_index",
        {
            "postgres": ["CREATE INDEX notes_created_at ON notes (created_at)"],
            "sqlite": ["CREATE INDEX notes_created_at ON notes (created_at)"],
        },
    ),
]
