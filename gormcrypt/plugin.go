package gormcrypt

import (
	"fmt"
	"reflect"
	"sync"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// pluginName is the name the plugin is registered under in gorm.Config.Plugins.
const pluginName = "fieldcrypt"

// Plugin encrypts and decrypts tagged models on every GORM write and read.
// Register it once per *gorm.DB with db.Use(gormcrypt.New(enc)).
type Plugin struct {
	enc        *crypt.Encryptor
	registered []any    // models given to New, parsed at Initialize
	models     sync.Map // *schema.Schema -> *model
	tagged     sync.Map // reflect.Type -> bool: has crypt tags
	tables     sync.Map // lower-case table name -> *model, for the registered tagged models and those seen since
	uniques    sync.Map // uniqueKey -> [][]string: a table's unique keys, on MySQL and MariaDB
	exact      sync.Map // uniqueKey -> map[string]bool: which of a table's columns compare byte for byte, on MySQL and MariaDB
	uuids      sync.Map // uniqueKey -> map[string]bool: a table's uuid columns, on PostgreSQL
}

// New returns the plugin that encrypts with enc.
//
// models are the tagged models whose tables the plugin protects from the
// first statement, such as New(enc, &Contact{}, &Interaction{}): a write
// without a model, through db.Table(name) or through a struct without
// crypt tags, that would store a value in one of their encrypted or
// blind-index columns is refused. Initialize parses them, and refuses a
// model without crypt tags or with invalid ones. The tables of tagged
// models neither registered nor used yet by the process are not known to
// the plugin, and such a write to them is not refused: register every
// tagged model.
func New(enc *crypt.Encryptor, models ...any) *Plugin {
	return &Plugin{enc: enc, registered: models}
}

// Name is the plugin's name in gorm.Config.Plugins.
func (p *Plugin) Name() string { return pluginName }

// Initialize registers the plugin's callbacks on db. db.Use calls it.
func (p *Plugin) Initialize(db *gorm.DB) error {
	if p.enc == nil {
		return fmt.Errorf("gormcrypt: New(nil): an Encryptor is required")
	}
	for _, v := range p.registered {
		if err := p.register(db, v); err != nil {
			return err
		}
	}
	cb := db.Callback()
	steps := []error{
		cb.Create().After("gorm:save_before_associations").Before("gorm:create").Register("fieldcrypt:encrypt", p.encryptCreate),
		cb.Create().After("gorm:create").Before("gorm:save_after_associations").Register("fieldcrypt:restore", p.restoreCreate),
		cb.Update().After("gorm:save_before_associations").Before("gorm:update").Register("fieldcrypt:encrypt", p.encryptUpdate),
		cb.Update().After("gorm:update").Before("gorm:save_after_associations").Register("fieldcrypt:redact", p.redactUpdate),
		cb.Update().After("gorm:update").Register("fieldcrypt:cleanup", p.cleanupUpdate),
		cb.Update().After("gorm:update").Before("gorm:commit_or_rollback_transaction").Register("fieldcrypt:tokens", p.writeUpdateTokens),
		cb.Query().Before("gorm:query").Register("fieldcrypt:check_search", p.checkSearch),
		cb.Query().After("gorm:query").Before("gorm:preload").Register("fieldcrypt:decrypt", p.decryptQuery),
		cb.Query().After("gorm:preload").Register("fieldcrypt:check_scopes", p.checkPreloadScopes),
		cb.Delete().Before("gorm:delete").Register("fieldcrypt:check", p.checkDelete),
		cb.Row().Before("gorm:row").Register("fieldcrypt:check_search", p.refuseSearch("rows")),
	}
	for _, err := range steps {
		if err != nil {
			return fmt.Errorf("gormcrypt: registering callbacks: %w", err)
		}
	}
	return nil
}

// register parses a model given to New and records its table.
func (p *Plugin) register(db *gorm.DB, v any) error {
	if err := tokensAsColumn(reflect.TypeOf(v)); err != nil {
		return err
	}
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(v); err != nil {
		return fmt.Errorf("gormcrypt: registering model %T: %w", v, err)
	}
	m := p.modelOf(stmt.Schema)
	if !m.tagged {
		return &Error{Op: "register", Model: m.name, Err: ErrUnsupportedModel, Reason: "the model has no crypt tags"}
	}
	if m.err != nil {
		return m.err
	}
	if m.schema.Table == "" {
		return &Error{Op: "register", Model: m.name, Err: ErrUnsupportedModel, Reason: "the model has no table name"}
	}
	return nil
}

// Encryptor returns the Encryptor of the plugin registered on db, for code
// that calls crypt directly next to GORM.
func Encryptor(db *gorm.DB) (*crypt.Encryptor, error) {
	p, err := pluginOf(db)
	if err != nil {
		return nil, err
	}
	return p.enc, nil
}

func pluginOf(db *gorm.DB) (*Plugin, error) {
	if db == nil || db.Config == nil {
		return nil, ErrNotRegistered
	}
	p, ok := db.Config.Plugins[pluginName].(*Plugin)
	if !ok {
		return nil, ErrNotRegistered
	}
	return p, nil
}
