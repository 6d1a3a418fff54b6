# make install / make uninstall (docs/install.md).
#   PREFIX   (default /usr/local)  binary, man pages, completion, systemd unit
#   DESTDIR  staging root for packagers; every path below is prefixed with it
#   SYSCONFDIR (default /etc)      the operator's files: $(SYSCONFDIR)/tfjail/
# The operator's tfjail.json and policy.json are never overwritten once edited:
# the shipped copies are kept in $(DATADIR)/tfjail/ as well, and a file that
# differs from the copy of the previous install is left alone, the new one
# written beside it as FILE.dist.  make uninstall removes them only unedited.

SYSCONFDIR ?= /etc
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions

INSTALL_CONF := packaging/install-conf
# the shipped files with the installation's paths in place of the defaults
INSTALL_PATHS = sed -e 's|/usr/local/bin/tfjail|$(BINDIR)/tfjail|g' -e 's|/usr/local/share/tfjail|$(DATADIR)/tfjail|g' \
                    -e 's|/etc/tfjail|$(SYSCONFDIR)/tfjail|g'

.PHONY: install uninstall
install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/tfjail $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(COMPLETIONDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/tfjail
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/tfjail
	$(INSTALL_PATHS) packaging/systemd/tfjail.service > $(DESTDIR)$(UNITDIR)/tfjail.service
	$(INSTALL_PATHS) packaging/man/tfjail.1 > $(DESTDIR)$(MANDIR)/man1/tfjail.1
	$(INSTALL_PATHS) packaging/man/tfjail-policy.5 > $(DESTDIR)$(MANDIR)/man5/tfjail-policy.5
	chmod 644 $(DESTDIR)$(UNITDIR)/tfjail.service $(DESTDIR)$(MANDIR)/man1/tfjail.1 \
	  $(DESTDIR)$(MANDIR)/man5/tfjail-policy.5
	@mkdir -p $(BUILD)/install
	sed -e 's|"policy": null|"policy": "$(SYSCONFDIR)/tfjail/policy.json"|' config/tfjail.json > $(BUILD)/install/tfjail.json
	install -m 644 packaging/bash-completion/tfjail $(DESTDIR)$(COMPLETIONDIR)/tfjail
	sh $(INSTALL_CONF) install policy/default.json $(DESTDIR)$(DATADIR)/tfjail/policy.json \
	  $(DESTDIR)$(SYSCONFDIR)/tfjail/policy.json
	sh $(INSTALL_CONF) install $(BUILD)/install/tfjail.json $(DESTDIR)$(DATADIR)/tfjail/tfjail.json \
	  $(DESTDIR)$(SYSCONFDIR)/tfjail/tfjail.json
	@echo "installed; as root: systemctl daemon-reload && systemctl enable --now tfjail"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tfjail $(DESTDIR)$(UNITDIR)/tfjail.service \
	  $(DESTDIR)$(MANDIR)/man1/tfjail.1 $(DESTDIR)$(MANDIR)/man5/tfjail-policy.5 \
	  $(DESTDIR)$(COMPLETIONDIR)/tfjail
	sh $(INSTALL_CONF) remove $(DESTDIR)$(DATADIR)/tfjail/policy.json $(DESTDIR)$(SYSCONFDIR)/tfjail/policy.json
	sh $(INSTALL_CONF) remove $(DESTDIR)$(DATADIR)/tfjail/tfjail.json $(DESTDIR)$(SYSCONFDIR)/tfjail/tfjail.json
	-rmdir $(DESTDIR)$(DATADIR)/tfjail $(DESTDIR)$(SYSCONFDIR)/tfjail 2>/dev/null
