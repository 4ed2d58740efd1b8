import re,collections,sys
bytid=collections.Counter(); cat=collections.Counter()
def c(sym,dso):
    s=sym
    if 'gram' in s.lower(): return 'gram'
    if ('bn' in s and ('Channel' in s or 'Small' in s)) or 'sumSqDev' in s or 'sumF' in s: return 'bn'
    if 'Blocked' in s or 'maskSpan' in s or 'reluSpan' in s: return 'relayout/relu'
    if 'JIT' in dso and 'gemm' in s: return 'jit gemm (1x1 plain)'
    if 'JIT' in dso and 'wino' in s: return 'jit wino'
    if 'JIT' in dso and ('conv' in s): return 'jit direct conv'
    if 'JIT' in dso: return 'jit other'
    if 'registerReduceOps' in s: return 'reduce-ops lambdas (pool?)'
    if 'addK' in s or 'axpyK' in s: return 'add/axpy'
    if 'memset' in s: return 'memset'
    if 'memmove' in s or 'memcpy' in s: return 'memcpy'
    if 'kernel' in dso: return 'kernel:'+s
    if 'dnnl' in dso: return 'libdnnl'
    return dso.split('/')[-1]+':'+s[:50]
rows=[]
for l in open(sys.argv[1]):
    m=re.match(r'\s*(\d+)\s+[0-9a-f]+\s+(.*)\((.*)\)\s*$',l)
    if not m: continue
    tid,sym,dso=m.groups(); bytid[tid]+=1; rows.append((tid,sym.strip(),dso))
w=bytid.most_common(1)[0][0]
print('threads',bytid.most_common(4),'worker',w)
for t,s,d in rows:
    if t==w: cat[c(s,d)]+=1
n=sum(cat.values())
for k,v in cat.most_common(30): print(f'{k[:60]:60} {v:6} {100*v/n:5.1f}%')
