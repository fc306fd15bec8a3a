package sqldialect

import (
	"errors"

	"github.com/go-sql-driver/mysql"
)

// SQLite extended result codes for a violated primary key or unique index.
const (
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// IsDuplicate reports whether err is the dialect's driver error for a
// duplicate primary key or unique key: SQLSTATE 23505 on PostgreSQL,
// SQLITE_CONSTRAINT_PRIMARYKEY or SQLITE_CONSTRAINT_UNIQUE on SQLite,
// ER_DUP_ENTRY (1062) on MySQL. Like [Classify], it goes only by the
// driver's error type, anywhere in err's chain.
func (d Dialect) IsDuplicate(err error) bool {
	if err == nil {
		return false
	}
	switch d {
	case Postgres:
		var pgErr sqlStateError
		return errors.As(err, &pgErr) && pgErr.SQLState() == "23505"
	case SQLite:
		var liteErr sqliteError
		if !errors.As(err, &liteErr) {
			return false
		}
		c := liteErr.Code()
		return c == sqliteConstraintPrimaryKey || c == sqliteConstraintUnique
	case MySQL:
		var myErr *mysql.MySQLError
		return errors.As(err, &myErr) && myErr.Number == 1062 // ER_DUP_ENTRY
	}
	return false
}
