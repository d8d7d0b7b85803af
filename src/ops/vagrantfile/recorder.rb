# lab's recording stand-in for Vagrant's configuration API (version 2).
#
# Run as `ruby recorder.rb VAGRANTFILE` (by `lab init --from-vagrantfile`,
# with the Vagrantfile's directory as the working directory). It defines
# just enough of Vagrant for a Vagrantfile to run as plain Ruby -
# `Vagrant.configure`, `config.vm.*`, `define`, providers, provisioners,
# synced folders, `Vagrant.has_plugin?`, `Vagrant.require_version` - and
# records every setting instead of acting on it. Anything it does not
# know is recorded too (as `other`, with the Vagrantfile's line), never an
# error. At the end it prints one JSON document on its standard output:
#
#   {"configured": bool, "global": CONFIG, "machines": [{"name", "line",
#    "options", "config": CONFIG}, ...]}   (machines in definition order)
#
# CONFIG: {"vm": {"box", "hostname", ... settings}, "networks": [{"type",
# "options", "line"}], "providers": [{"name", "settings", "calls", "line"}],
# "provisioners": [{"name", "type", "options", "line"}], "synced_folders":
# [{"args", "line"}], "other": [{"what", "line"}]}.
#
# What the Vagrantfile itself prints goes to standard error, so that only
# the JSON is on standard output. A Ruby error ends it with status 1 and
# Ruby's message (file:line) on standard error.

require "json"

module LabRecorder
  FILE = File.expand_path(ARGV.fetch(0))

  # The Vagrantfile's line that is running now (nil outside it).
  def self.line
    loc = caller_locations.find { |l| l.absolute_path == FILE || l.path == FILE }
    loc && loc.lineno
  end

  # A value as JSON can hold it: symbols and other objects as strings.
  def self.plain(value)
    case value
    when nil, true, false, Integer then value
    when Float then value.finite? ? value : value.to_s
    when String then value.dup.force_encoding("UTF-8").scrub("?")
    when Symbol then value.to_s
    when Array then value.map { |v| plain(v) }
    when Hash then value.each_with_object({}) { |(k, v), h| h[plain_key(k)] = plain(v) }
    when Range then value.to_a.first(1000).map { |v| plain(v) }
    else plain(value.to_s)
    end
  end

  def self.plain_key(key)
    plain(key.is_a?(String) || key.is_a?(Symbol) ? key.to_s : key.inspect)
  end

  # Settings of a provider, provisioner or other namespace: `x.name = v`
  # records a setting, `x.name(args)` a call; reading a setting gives its
  # value (or a nested namespace, so `x.a.b = 1` works).
  class Settings < BasicObject
    def initialize(path)
      @path = path
      @settings = {}
      @calls = []
    end

    def __settings
      @settings
    end
    def __calls
      @calls
    end

    def respond_to?(*)
      true
    end
    def nil?
      false
    end
    def to_s
      @path
    end
    def inspect
      @path
    end

    def method_missing(name, *args, **opts, &block)
      name = name.to_s
      if name.end_with?("=") && args.length == 1
        @settings[name.chomp("=")] = args[0]
      elsif name == "[]="
        @settings["#{args[0]}"] = args[1]
      elsif name == "[]"
        @settings["#{args[0]}"]
      elsif args.empty? && opts.empty? && !block
        @settings[name] ||= Settings.new("#{@path}.#{name}")
      else
        @calls << { "name" => name, "args" => ::LabRecorder.plain(opts.empty? ? args : args + [opts]),
                    "line" => ::LabRecorder.line }
        block&.call(Settings.new("#{@path}.#{name}"))
        nil
      end
    end

    # Settings as plain values (nested namespaces as hashes).
    def __plain
      @settings.each_with_object({}) do |(k, v), h|
        h[k] = v.__send__(:__plain) rescue h[k] = ::LabRecorder.plain(v)
      end
    end
  end

  # `config.vm`.
  class VM
    attr_reader :record

    def initialize(config, other)
      @config = config
      @other = other
      @record = { "networks" => [], "providers" => [], "provisioners" => [], "synced_folders" => [],
                  "settings" => {} }
    end

    def box=(v)
      @record["settings"]["box"] = LabRecorder.plain(v)
    end
    def box
      @record["settings"]["box"]
    end
    def hostname=(v)
      @record["settings"]["hostname"] = LabRecorder.plain(v)
    end
    def hostname
      @record["settings"]["hostname"]
    end

    def network(type, **opts)
      @record["networks"] << { "type" => type.to_s, "options" => LabRecorder.plain(opts), "line" => LabRecorder.line }
    end

    def provider(name, **_opts)
      settings = Settings.new("provider #{name}")
      yield(settings, @config) if block_given?
      @record["providers"] << { "name" => name.to_s, "settings" => settings.__plain,
                                "calls" => settings.__calls, "line" => LabRecorder.line }
    end

    def provision(name, **opts)
      type = (opts.delete(:type) || name).to_s
      settings = Settings.new("provisioner #{type}")
      yield(settings) if block_given?
      @record["provisioners"] << {
        "name" => name.to_s, "type" => type,
        "options" => LabRecorder.plain(opts).merge(settings.__plain),
        "calls" => settings.__calls, "line" => LabRecorder.line
      }
    end

    def synced_folder(*args, **opts)
      @record["synced_folders"] << { "args" => LabRecorder.plain(args), "options" => LabRecorder.plain(opts),
                                     "line" => LabRecorder.line }
    end

    def define(name, **opts, &block)
      LabRecorder.define(name, opts, LabRecorder.line, &block)
    end

    def method_missing(name, *args, **opts, &block)
      name = name.to_s
      what = name.end_with?("=") ? "config.vm.#{name.chomp('=')}" : "config.vm.#{name}"
      @other << { "what" => what, "line" => LabRecorder.line }
      block&.call(Settings.new(what))
      name.end_with?("=") || !args.empty? ? nil : Settings.new(what)
    end

    def respond_to_missing?(*)
      true
    end
  end

  # The object a `Vagrant.configure` or `define` block receives.
  class Config
    attr_reader :vm, :other

    def initialize
      @other = []
      @vm = VM.new(self, @other)
      @namespaces = {}
    end

    def record
      @vm.record.merge("other" => @other)
    end

    def method_missing(name, *args, **_opts, &block)
      name = name.to_s
      if args.empty? && !block && !name.end_with?("=")
        @namespaces[name] ||= Namespace.new("config.#{name}", @other)
      else
        @other << { "what" => "config.#{name.chomp('=')}", "line" => LabRecorder.line }
        nil
      end
    end

    def respond_to_missing?(*)
      true
    end
  end

  # `config.ssh`, `config.vagrant`, a plugin's namespace: every setting in
  # it is recorded as not carried over.
  class Namespace < BasicObject
    def initialize(path, other)
      @path = path
      @other = other
    end

    def respond_to?(*)
      true
    end
    def nil?
      false
    end
    def to_s
      @path
    end

    def method_missing(name, *args, **_opts, &block)
      name = name.to_s.chomp("=")
      @other << { "what" => "#{@path}.#{name}", "line" => ::LabRecorder.line }
      block&.call(Namespace.new("#{@path}.#{name}", []))
      args.empty? ? Namespace.new("#{@path}.#{name}", []) : nil
    end
  end

  @global = Config.new
  @machines = []
  @configured = false

  class << self
    attr_reader :global, :machines
    attr_accessor :configured

    # `config.vm.define NAME`: the same name again adds to that machine.
    def define(name, opts, line)
      m = @machines.find { |x| x["name"] == name.to_s }
      unless m
        m = { "name" => name.to_s, "line" => line, "options" => plain(opts), "config" => Config.new }
        @machines << m
      end
      yield(m["config"]) if block_given?
      nil
    end

    def result
      {
        "configured" => @configured,
        "global" => @global.record,
        "machines" => @machines.map { |m| m.merge("config" => m["config"].record) }
      }
    end
  end
end

# The part of Vagrant's own module a Vagrantfile calls.
module Vagrant
  VERSION = "2.4.1"

  def self.configure(_version)
    LabRecorder.configured = true
    yield(LabRecorder.global) if block_given?
  end

  def self.require_version(*)
    true
  end
  def self.has_plugin?(*)
    true
  end
  def self.version?(*)
    true
  end

  module Util
    module Platform
      def self.windows?
        false
      end
      def self.darwin?
        false
      end
      def self.linux?
        true
      end
    end
  end
end

out = STDOUT.dup
STDOUT.reopen(STDERR)
$stdout = STDERR
result =
  begin
    source = File.read(LabRecorder::FILE, mode: "rb").force_encoding("UTF-8")
    eval(source, TOPLEVEL_BINDING, LabRecorder::FILE, 1)
    LabRecorder.result
  rescue SyntaxError => e
    # "FILE:LINE: message" and maybe the line of code after it.
    first = e.message.lines.find { |l| l.include?("#{LabRecorder::FILE}:") } || e.message.lines.first.to_s
    line = first[/#{Regexp.escape(LabRecorder::FILE)}:(\d+):/, 1]
    text = first.sub(/\A.*?#{Regexp.escape(LabRecorder::FILE)}:\d+:\s*/, "").strip
    { "error" => { "kind" => "syntax", "line" => line&.to_i, "message" => LabRecorder.plain(text) } }
  rescue SystemExit => e
    loc = (e.backtrace_locations || []).find { |l| l.path == LabRecorder::FILE }
    { "error" => { "kind" => "exit", "line" => loc&.lineno, "status" => e.status,
                   "message" => LabRecorder.plain(e.message) } }
  rescue Exception => e
    loc = (e.backtrace_locations || []).find { |l| l.path == LabRecorder::FILE }
    { "error" => { "kind" => "exception", "line" => loc&.lineno, "class" => e.class.name,
                   "message" => LabRecorder.plain(e.message.to_s.lines.first.to_s.strip) } }
  end
out.write(JSON.generate(result))
out.flush
