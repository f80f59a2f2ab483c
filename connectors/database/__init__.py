"""Database: items from parameterised queries, one transaction per item (SQLAlchemy).

Drivers are the council's choice (see docs/writing-a-bot.md): SQLite and PostgreSQL
(``psycopg``) ship with borough; SQL Server (``mssql+pyodbc``), Oracle
(``oracle+oracledb``) and MySQL/MariaDB (``mysql+pymysql``) need their driver installed.
"""

from __future__ import annotations

from connectors.database.connector import DatabaseConnector, Row, Writes
from connectors.database.settings import DatabaseSettings

__all__ = ["DatabaseConnector", "DatabaseSettings", "Row", "Writes"]
