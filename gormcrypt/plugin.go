package gormcrypt

import (
	"fmt"
	"sync"

	"gorm.io/gorm"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// pluginName is the name the plugin is registered under in gorm.Config.Plugins.
const pluginName = "fieldcrypt"

// Plugin encrypts and decrypts tagged models on every GORM write and read.
// Register it once per *gorm.DB with db.Use(gormcrypt.New(enc)).
type Plugin struct {
	enc    *crypt.Encryptor
	models sync.Map // *schema.Schema -> *model
	tagged sync.Map // reflect.Type -> bool: has crypt tags
	tables sync.Map // table name -> *model, for the tagged models seen so far
}

// New returns the plugin that encrypts with enc.
func New(enc *crypt.Encryptor) *Plugin {
	return &Plugin{enc: enc}
}

// Name is the plugin's name in gorm.Config.Plugins.
func (p *Plugin) Name() string { return pluginName }

// Initialize registers the plugin's callbacks on db. db.Use calls it.
func (p *Plugin) Initialize(db *gorm.DB) error {
	if p.enc == nil {
		return fmt.Errorf("gormcrypt: New(nil): an Encryptor is required")
	}
	cb := db.Callback()
	steps := []error{
		cb.Create().After("gorm:save_before_associations").Before("gorm:create").Register("fieldcrypt:encrypt", p.encryptCreate),
		cb.Create().After("gorm:create").Before("gorm:save_after_associations").Register("fieldcrypt:restore", p.restoreCreate),
		cb.Update().After("gorm:save_before_associations").Before("gorm:update").Register("fieldcrypt:encrypt", p.encryptUpdate),
		cb.Update().After("gorm:update").Register("fieldcrypt:cleanup", p.cleanupUpdate),
		cb.Query().Before("gorm:query").Register("fieldcrypt:check_search", p.checkSearch),
		cb.Query().After("gorm:query").Before("gorm:preload").Register("fieldcrypt:decrypt", p.decryptQuery),
		cb.Delete().Before("gorm:delete").Register("fieldcrypt:check", p.checkDelete),
		cb.Row().Before("gorm:row").Register("fieldcrypt:check_search", refuseSearch("rows")),
	}
	for _, err := range steps {
		if err != nil {
			return fmt.Errorf("gormcrypt: registering callbacks: %w", err)
		}
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
