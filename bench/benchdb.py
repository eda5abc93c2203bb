"""The benchmarks' own PostgreSQL database (hastexo_lab_bench on 127.0.0.1)."""


def recreate_database():
    import psycopg
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS hastexo_lab_bench")
        conn.execute("CREATE DATABASE hastexo_lab_bench")
